"""CronJobs: defaults of the policy and history limits; every field may change later.

Unlike the other workloads a CronJob has no selector to freeze: its Jobs are found by
their owner reference, so an update is checked as a create is and nothing more.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import cronjob
from master.apiserver.validation.errors import Errors


class CronJobStrategy(Strategy):
    def default(self, obj: Any) -> None:
        defaults.default_cron_job(obj)

    def validate(self, errs: Errors, obj: Any) -> None:
        cronjob.validate_cron_job(errs, obj)


STRATEGY = CronJobStrategy(by_resource("cronjobs"))
