from proto import admissionregistration_pb2 as _admissionregistration_pb2
from proto import meta_pb2 as _meta_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CustomResourceDefinitionNames(_message.Message):
    __slots__ = ("plural", "singular", "short_names", "kind", "list_kind", "categories")
    PLURAL_FIELD_NUMBER: _ClassVar[int]
    SINGULAR_FIELD_NUMBER: _ClassVar[int]
    SHORT_NAMES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LIST_KIND_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    plural: str
    singular: str
    short_names: _containers.RepeatedScalarFieldContainer[str]
    kind: str
    list_kind: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, plural: _Optional[str] = ..., singular: _Optional[str] = ..., short_names: _Optional[_Iterable[str]] = ..., kind: _Optional[str] = ..., list_kind: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ...) -> None: ...

class CustomResourceValidation(_message.Message):
    __slots__ = ("open_apiv3_schema",)
    OPEN_APIV3_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    open_apiv3_schema: _meta_pb2.RawJSON
    def __init__(self, open_apiv3_schema: _Optional[_Union[_meta_pb2.RawJSON, _Mapping]] = ...) -> None: ...

class CustomResourceSubresourceScale(_message.Message):
    __slots__ = ("spec_replicas_path", "status_replicas_path", "label_selector_path")
    SPEC_REPLICAS_PATH_FIELD_NUMBER: _ClassVar[int]
    STATUS_REPLICAS_PATH_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_PATH_FIELD_NUMBER: _ClassVar[int]
    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str
    def __init__(self, spec_replicas_path: _Optional[str] = ..., status_replicas_path: _Optional[str] = ..., label_selector_path: _Optional[str] = ...) -> None: ...

class CustomResourceSubresourceStatus(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CustomResourceSubresources(_message.Message):
    __slots__ = ("status", "scale")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    status: CustomResourceSubresourceStatus
    scale: CustomResourceSubresourceScale
    def __init__(self, status: _Optional[_Union[CustomResourceSubresourceStatus, _Mapping]] = ..., scale: _Optional[_Union[CustomResourceSubresourceScale, _Mapping]] = ...) -> None: ...

class CustomResourceColumnDefinition(_message.Message):
    __slots__ = ("name", "type", "format", "description", "priority", "json_path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    JSON_PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    format: str
    description: str
    priority: int
    json_path: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., format: _Optional[str] = ..., description: _Optional[str] = ..., priority: _Optional[int] = ..., json_path: _Optional[str] = ...) -> None: ...

class CustomResourceDefinitionVersion(_message.Message):
    __slots__ = ("name", "served", "storage", "deprecated", "deprecation_warning", "schema", "subresources", "additional_printer_columns", "selectable_fields")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVED_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    DEPRECATION_WARNING_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    SUBRESOURCES_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_PRINTER_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    SELECTABLE_FIELDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    served: bool
    storage: bool
    deprecated: bool
    deprecation_warning: str
    schema: CustomResourceValidation
    subresources: CustomResourceSubresources
    additional_printer_columns: _containers.RepeatedCompositeFieldContainer[CustomResourceColumnDefinition]
    selectable_fields: _containers.RepeatedCompositeFieldContainer[SelectableField]
    def __init__(self, name: _Optional[str] = ..., served: _Optional[bool] = ..., storage: _Optional[bool] = ..., deprecated: _Optional[bool] = ..., deprecation_warning: _Optional[str] = ..., schema: _Optional[_Union[CustomResourceValidation, _Mapping]] = ..., subresources: _Optional[_Union[CustomResourceSubresources, _Mapping]] = ..., additional_printer_columns: _Optional[_Iterable[_Union[CustomResourceColumnDefinition, _Mapping]]] = ..., selectable_fields: _Optional[_Iterable[_Union[SelectableField, _Mapping]]] = ...) -> None: ...

class SelectableField(_message.Message):
    __slots__ = ("json_path",)
    JSON_PATH_FIELD_NUMBER: _ClassVar[int]
    json_path: str
    def __init__(self, json_path: _Optional[str] = ...) -> None: ...

class CustomResourceConversion(_message.Message):
    __slots__ = ("strategy", "webhook")
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    strategy: str
    webhook: WebhookConversion
    def __init__(self, strategy: _Optional[str] = ..., webhook: _Optional[_Union[WebhookConversion, _Mapping]] = ...) -> None: ...

class WebhookConversion(_message.Message):
    __slots__ = ("client_config", "conversion_review_versions")
    CLIENT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_REVIEW_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    client_config: _admissionregistration_pb2.WebhookClientConfig
    conversion_review_versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, client_config: _Optional[_Union[_admissionregistration_pb2.WebhookClientConfig, _Mapping]] = ..., conversion_review_versions: _Optional[_Iterable[str]] = ...) -> None: ...

class CustomResourceDefinitionSpec(_message.Message):
    __slots__ = ("group", "names", "scope", "versions", "conversion", "preserve_unknown_fields")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    PRESERVE_UNKNOWN_FIELDS_FIELD_NUMBER: _ClassVar[int]
    group: str
    names: CustomResourceDefinitionNames
    scope: str
    versions: _containers.RepeatedCompositeFieldContainer[CustomResourceDefinitionVersion]
    conversion: CustomResourceConversion
    preserve_unknown_fields: bool
    def __init__(self, group: _Optional[str] = ..., names: _Optional[_Union[CustomResourceDefinitionNames, _Mapping]] = ..., scope: _Optional[str] = ..., versions: _Optional[_Iterable[_Union[CustomResourceDefinitionVersion, _Mapping]]] = ..., conversion: _Optional[_Union[CustomResourceConversion, _Mapping]] = ..., preserve_unknown_fields: _Optional[bool] = ...) -> None: ...

class CustomResourceDefinitionStatus(_message.Message):
    __slots__ = ("conditions", "accepted_names", "stored_versions")
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_NAMES_FIELD_NUMBER: _ClassVar[int]
    STORED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[_meta_pb2.Condition]
    accepted_names: CustomResourceDefinitionNames
    stored_versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, conditions: _Optional[_Iterable[_Union[_meta_pb2.Condition, _Mapping]]] = ..., accepted_names: _Optional[_Union[CustomResourceDefinitionNames, _Mapping]] = ..., stored_versions: _Optional[_Iterable[str]] = ...) -> None: ...

class CustomResourceDefinition(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: CustomResourceDefinitionSpec
    status: CustomResourceDefinitionStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[CustomResourceDefinitionSpec, _Mapping]] = ..., status: _Optional[_Union[CustomResourceDefinitionStatus, _Mapping]] = ...) -> None: ...

class CustomObject(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "content", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    content: _meta_pb2.RawJSON
    status: _meta_pb2.RawJSON
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., content: _Optional[_Union[_meta_pb2.RawJSON, _Mapping]] = ..., status: _Optional[_Union[_meta_pb2.RawJSON, _Mapping]] = ...) -> None: ...
