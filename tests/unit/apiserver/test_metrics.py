from master.apiserver.metrics import ApiServerMetrics
from master.apiserver.strategies import all_strategies


def test_every_served_resource_reports_zero_watchers_before_any_watch_opens():
    resources = [s.kind.resource for s in all_strategies()]
    metrics = ApiServerMetrics(resources=resources)
    for resource in resources:
        value = metrics.registry.get_sample_value(
            "tugboat_apiserver_watchers", {"resource": resource}
        )
        assert value == 0, resource
    assert "pods" in resources
