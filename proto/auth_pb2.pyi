from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TokenRequest(_message.Message):
    __slots__ = ("namespace", "service_account", "expiration_seconds", "pod_name", "pod_uid", "audiences")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    POD_UID_FIELD_NUMBER: _ClassVar[int]
    AUDIENCES_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    service_account: str
    expiration_seconds: int
    pod_name: str
    pod_uid: str
    audiences: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, namespace: _Optional[str] = ..., service_account: _Optional[str] = ..., expiration_seconds: _Optional[int] = ..., pod_name: _Optional[str] = ..., pod_uid: _Optional[str] = ..., audiences: _Optional[_Iterable[str]] = ...) -> None: ...

class TokenResponse(_message.Message):
    __slots__ = ("token", "expiration_timestamp")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    token: str
    expiration_timestamp: str
    def __init__(self, token: _Optional[str] = ..., expiration_timestamp: _Optional[str] = ...) -> None: ...

class ResourceAttributes(_message.Message):
    __slots__ = ("verb", "api_group", "resource", "subresource", "namespace", "name")
    VERB_FIELD_NUMBER: _ClassVar[int]
    API_GROUP_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SUBRESOURCE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    verb: str
    api_group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    def __init__(self, verb: _Optional[str] = ..., api_group: _Optional[str] = ..., resource: _Optional[str] = ..., subresource: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class AccessReviewRequest(_message.Message):
    __slots__ = ("user", "groups", "resource_attributes", "non_resource_path", "non_resource_verb")
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    NON_RESOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    NON_RESOURCE_VERB_FIELD_NUMBER: _ClassVar[int]
    user: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    resource_attributes: ResourceAttributes
    non_resource_path: str
    non_resource_verb: str
    def __init__(self, user: _Optional[str] = ..., groups: _Optional[_Iterable[str]] = ..., resource_attributes: _Optional[_Union[ResourceAttributes, _Mapping]] = ..., non_resource_path: _Optional[str] = ..., non_resource_verb: _Optional[str] = ...) -> None: ...

class AccessReviewResponse(_message.Message):
    __slots__ = ("allowed", "reason", "user")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: str
    user: str
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("user", "uid", "groups")
    USER_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    user: str
    uid: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user: _Optional[str] = ..., uid: _Optional[str] = ..., groups: _Optional[_Iterable[str]] = ...) -> None: ...
