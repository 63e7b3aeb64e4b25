"""API Priority and Fairness: Kubernetes' request dispatcher, as a self-contained package.

Requests are classified by FlowSchemas into PriorityLevels (classifier.py) and their
work estimated in seats (estimate.py); each Limited level gets a share of the server's
seats, lends and borrows spare ones (seats.py), and queues its requests fairly among
flows with shuffle sharding (queueset.py); the dispatcher (dispatcher.py) ties these
together under one configuration that can be replaced at any time. The model (model.py)
is plain data, so the package knows nothing of protobuf, HTTP or etcd: the API server
converts its objects into it and wraps its handlers in `Dispatcher.admit`.
"""
