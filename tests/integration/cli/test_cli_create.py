"""`tug create job NAME --from=cronjob/CJ`: a CronJob's template run now, and its refusals."""

from __future__ import annotations

import json

CRON_JOB = """
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  timeZone: Europe/Berlin
  jobTemplate:
    metadata:
      labels: {team: data}
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox:1.35
"""


async def test_a_job_from_a_cron_job_is_its_template_owned_by_the_cron_job(tug):
    assert (await tug("apply", "-f", "-", stdin=CRON_JOB)).out == "cronjob.batch/nightly created\n"
    made = await tug("create", "job", "nightly-now", "--from=cronjob/nightly")
    assert (made.code, made.out) == (0, "job.batch/nightly-now created\n")
    job = json.loads((await tug("get", "job", "nightly-now", "-o", "json")).out)
    (owner,) = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("CronJob", "nightly", True)
    assert job["metadata"]["labels"]["team"] == "data"
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["spec"]["backoffLimit"] == 2
    table = (await tug("get", "cronjobs")).out.splitlines()
    assert table[0].split()[:4] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND"]
    assert table[1].split()[:7] == ["nightly", "0", "3", "*", "*", "*", "Europe/Berlin"]


async def test_a_second_job_under_the_same_name_is_refused_by_name(tug):
    await tug("apply", "-f", "-", stdin=CRON_JOB)
    await tug("create", "job", "again", "--from=cronjob/nightly")
    twice = await tug("create", "job", "again", "--from=cronjob/nightly")
    assert twice.code == 1
    assert 'jobs.batch "again" already exists' in twice.err


async def test_a_source_that_is_not_a_cron_job_or_is_missing_is_refused(tug):
    wrong = await tug("create", "job", "x", "--from=deployment/web")
    assert wrong.code == 1
    assert "--from: 'deployment/web' is not cronjob/NAME" in wrong.err
    missing = await tug("create", "job", "x", "--from=cronjob/absent")
    assert missing.code == 1
    assert 'cronjobs.batch "absent" not found' in missing.err
