"""ValidatingAdmissionPolicies applied and enforced through the real kubectl, as the
Kubernetes docs' examples write them: CEL over the object, namespace selectors, params,
match conditions, variables, message expressions, Warn, failure policies and updates."""

from __future__ import annotations

from tests.integration.apiserver.kubectl import Kubectl

POLICY = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: demo-policy.example.com}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  validations:
  - expression: object.spec.replicas <= 5
"""
BINDING = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: demo-binding-test.example.com}
spec:
  policyName: demo-policy.example.com
  validationActions: [%s]
  matchResources:
    namespaceSelector:
      matchLabels: {environment: test}
"""
TEST_NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata: {name: testing, labels: {environment: test}}
"""


def deployment(replicas: int, namespace: str = "testing", image: str = "busybox:1.35") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: "{image}"}}]}}
"""


async def test_the_docs_policy_denies_too_many_replicas_in_the_bound_namespaces_only(
    kubectl: Kubectl,
) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=POLICY + "---" + BINDING % "Deny")
    await kubectl.ok("apply", "-f", "-", stdin=TEST_NAMESPACE)
    refused = await kubectl("apply", "-f", "-", stdin=deployment(6))
    assert refused.code == 1
    # kubectl's form of Kubernetes' answer (422 Invalid, the denial as its one cause).
    assert refused.err == (
        'The Deployment "web" is invalid: : ValidatingAdmissionPolicy '
        "'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied "
        "request: failed expression: object.spec.replicas <= 5\n"
    )
    await kubectl.ok("apply", "-f", "-", stdin=deployment(5))
    await kubectl.ok("apply", "-f", "-", stdin=deployment(6, namespace="default"))
    # Updates are checked too: scaling past the limit is refused.
    scaled = await kubectl("scale", "deployment/web", "-n", "testing", "--replicas=7")
    assert scaled.code == 1 and "denied request" in scaled.err
    table = await kubectl.ok("get", "validatingadmissionpolicies")
    assert table.split("\n")[0].split() == ["NAME", "VALIDATIONS", "PARAMKIND", "AGE"]


async def test_a_warn_binding_lets_the_write_through_and_kubectl_prints_the_warning(
    kubectl: Kubectl,
) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=POLICY + "---" + BINDING % "Warn")
    await kubectl.ok("apply", "-f", "-", stdin=TEST_NAMESPACE)
    done = await kubectl("apply", "-f", "-", stdin=deployment(9))
    assert done.code == 0, done.err
    assert (
        "Warning: Validation failed for ValidatingAdmissionPolicy 'demo-policy.example.com' "
        "with binding 'demo-binding-test.example.com': failed expression: "
        "object.spec.replicas <= 5"
    ) in done.err


PARAM_POLICY = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replicalimit}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= int(params.data.maxReplicas)
    messageExpression: "'at most ' + params.data.maxReplicas + ' replicas'"
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replicalimit-binding}
spec:
  policyName: replicalimit
  validationActions: [Deny]
  paramRef: {name: replica-limit, namespace: default, parameterNotFoundAction: %s}
"""
LIMIT = """
apiVersion: v1
kind: ConfigMap
metadata: {name: replica-limit, namespace: default}
data: {maxReplicas: "3"}
"""


async def test_a_policy_reads_its_limit_from_the_bound_parameter_object(kubectl: Kubectl) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=PARAM_POLICY % "Deny")
    missing = await kubectl("apply", "-f", "-", stdin=deployment(1, namespace="default"))
    assert "no params found for policy binding with `Deny` parameterNotFoundAction" in missing.err
    await kubectl.ok("apply", "-f", "-", stdin=LIMIT)
    refused = await kubectl("apply", "-f", "-", stdin=deployment(4, namespace="default"))
    assert "(Forbidden)" in refused.err and "denied request: at most 3 replicas" in refused.err
    await kubectl.ok("apply", "-f", "-", stdin=deployment(3, namespace="default"))
    await kubectl.ok("delete", "configmap", "replica-limit")
    await kubectl.ok("apply", "-f", "-", stdin=PARAM_POLICY % "Allow")
    await kubectl.ok("delete", "deployment", "web")
    await kubectl.ok("apply", "-f", "-", stdin=deployment(8, namespace="default"))


IMAGES = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: images}
spec:
  failurePolicy: %s
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  matchConditions:
  - name: not-exempt
    expression: "!has(object.metadata.labels) || !('exempt' in object.metadata.labels)"
  variables:
  - name: labels
    expression: namespaceObject.metadata.labels
  - name: environment
    expression: "'environment' in variables.labels ? variables.labels['environment'] : 'prod'"
  - name: containers
    expression: object.spec.template.spec.containers
  validations:
  - expression: "variables.containers.all(c, c.image.startsWith(variables.environment + '.'))"
    messageExpression: >-
      'only ' + variables.environment + ' images are allowed in namespace '
      + namespaceObject.metadata.name
  - expression: object.spec.missing.field == 1
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: images}
spec:
  policyName: images
  validationActions: [Deny]
"""


async def test_variables_and_a_message_expression_name_the_rule_and_errors_follow_the_failure_policy(  # noqa: E501
    kubectl: Kubectl,
) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=TEST_NAMESPACE)
    await kubectl.ok("apply", "-f", "-", stdin=IMAGES % "Ignore")
    refused = await kubectl("apply", "-f", "-", stdin=deployment(1, image="busybox:1.35"))
    assert "denied request: only test images are allowed in namespace testing" in refused.err
    # The second validation cannot be evaluated: ignored under Ignore, ...
    await kubectl.ok("apply", "-f", "-", stdin=deployment(1, image="test.busybox:1.35"))
    # ... a refusal under Fail.
    await kubectl.ok("apply", "-f", "-", stdin=IMAGES % "Fail")
    failed = await kubectl("apply", "-f", "-", stdin=deployment(2, image="test.busybox:1.35"))
    assert "expression 'object.spec.missing.field == 1' resulted in error" in failed.err
    exempt = deployment(1, image="busybox:1.35").replace(
        "name: web, namespace", "name: web, labels: {exempt: 'yes'}, namespace"
    )
    await kubectl.ok("apply", "-f", "-", stdin=exempt)


async def test_a_policy_whose_expression_does_not_compile_is_refused_naming_it(
    kubectl: Kubectl,
) -> None:
    broken = POLICY.replace("object.spec.replicas <= 5", "object.spec.replicas <=")
    refused = await kubectl("apply", "-f", "-", stdin=broken)
    assert refused.code == 1
    assert 'spec.validations[0].expression: Invalid value: "object.spec.replicas <="' in refused.err
    assert "compilation failed" in refused.err
    both = BINDING % "Deny, Warn"
    refused = await kubectl("apply", "-f", "-", stdin=both)
    assert "spec.validationActions: Invalid value" in refused.err
    assert "must not contain both Deny and Warn" in refused.err


PROTECT = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: protect}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [configmaps]}
  validations:
  - expression: "object == null && !('protected' in oldObject.data)"
    message: this ConfigMap is protected
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: protect}
spec:
  policyName: protect
  validationActions: [Deny]
"""


async def test_a_delete_is_checked_against_the_old_object(kubectl: Kubectl) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=PROTECT)
    await kubectl.ok("create", "configmap", "keep", "--from-literal=protected=yes")
    await kubectl.ok("create", "configmap", "scratch", "--from-literal=x=1")
    refused = await kubectl("delete", "configmap", "keep")
    assert refused.code == 1
    assert "denied request: this ConfigMap is protected" in refused.err
    await kubectl.ok("get", "configmap", "keep")
    await kubectl.ok("delete", "configmap", "scratch")
