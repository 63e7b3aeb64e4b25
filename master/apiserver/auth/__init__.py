"""Who is asking, and may they: the first two stages of every request.

Kubernetes' request pipeline is authentication → authorization → admission →
validation → storage. This package holds the first two, written against plain values
(a `UserInfo`, an `Attributes`) rather than a transport, so the gRPC service and the
REST front-end call the very same code:

- `authenticator.py` turns what a request presented (a verified client certificate, a
  bearer token) into a `UserInfo`, or refuses it as Unauthenticated;
- `authorizer.py` asks the node authorizer, then RBAC, whether that user may do the verb
  on the resource, and refuses with Forbidden naming the user, the verb and the resource.

Admission (master/apiserver/admission/) runs later, inside the store, where the old
object of an update is known.
"""
