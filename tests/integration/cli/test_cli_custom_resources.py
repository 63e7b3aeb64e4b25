"""`tug` with custom kinds: one file holding a CRD and an object of its kind applies in one
go, and `tug get` finds the kind by plural, kind or short name and prints the CRD's
printer columns (wide ones with `-o wide`)."""

from __future__ import annotations

from pathlib import Path

from client import kinds
from tests.support.waiting import eventually

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "operator"
BOTH = (EXAMPLE / "crd.yaml").read_text() + "---\n" + (EXAMPLE / "website.yaml").read_text()


async def test_a_crd_and_an_object_of_its_kind_apply_from_one_file(tug, write):
    result = await tug("apply", "-f", str(write("site.yaml", BOTH)))
    assert result.err == ""
    assert result.out.splitlines() == [
        "customresourcedefinition.apiextensions.k8s.io/websites.examples.tugboat.io created",
        "website.examples.tugboat.io/hello created",
    ]
    again = await tug("apply", "-f", str(write("site.yaml", BOTH)))
    assert again.out.splitlines()[1] == "website.examples.tugboat.io/hello unchanged"


async def test_get_prints_the_crds_printer_columns_by_any_name_of_the_kind(tug, write):
    await tug("apply", "-f", str(write("site.yaml", BOTH)))
    for name in ("websites", "website", "ws", "Website", "websites.examples.tugboat.io"):
        result = await tug("get", name)
        lines = result.out.splitlines()
        assert lines[0].split() == ["NAME", "IMAGE", "REPLICAS", "READY", "AGE"], name
        assert lines[1].split()[:3] == ["hello", "busybox:1.35", "2"], name
        ready = slice(lines[0].index("READY"), lines[0].index("AGE"))
        assert lines[1][ready].strip() == "", name  # no status yet: a blank cell
    wide = (await tug("get", "ws", "-o", "wide")).out.splitlines()
    assert wide[0].split() == ["NAME", "IMAGE", "REPLICAS", "READY", "URL", "AGE"]
    described = await tug("describe", "website", "hello")
    assert described.code == 0
    assert "Spec:" in described.out and "busybox:1.35" in described.out
    crds = (await tug("get", "crd")).out.splitlines()
    assert crds[0].split() == ["NAME", "CREATED", "AT"]
    assert crds[1].split()[0] == "websites.examples.tugboat.io"


async def test_a_bad_custom_object_is_refused_naming_the_field(tug, write):
    await tug("apply", "-f", str(write("crd.yaml", (EXAMPLE / "crd.yaml").read_text())))
    bad = (EXAMPLE / "website.yaml").read_text().replace("replicas: 2", "replicas: many")
    result = await tug("apply", "-f", str(write("bad.yaml", bad)))
    assert result.code == 1
    assert 'spec.replicas: Invalid value: "string": spec.replicas in body must be of type ' in (
        result.err
    )


async def test_delete_by_short_name_and_the_crd_takes_its_objects_along(tug, write):
    await tug("apply", "-f", str(write("site.yaml", BOTH)))
    result = await tug("delete", "ws", "hello")
    assert result.out.strip() == 'website.examples.tugboat.io "hello" deleted'
    await tug("apply", "-f", str(write("site.yaml", BOTH)))
    result = await tug("delete", "crd", "websites.examples.tugboat.io")
    assert result.code == 0

    async def gone() -> bool:
        return "websites" not in {k.resource for k in kinds.dynamic_kinds()}

    await eventually(gone, timeout=15, what="the CRD's kind to stop being served")
    result = await tug("get", "websites")
    assert result.code == 1
    assert 'the server doesn\'t have a resource type "websites"' in result.err
