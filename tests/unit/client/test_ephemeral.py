from client.ephemeral import as_container
from proto import core_pb2


def test_an_ephemeral_container_reads_as_a_container_with_every_common_field() -> None:
    eph = core_pb2.EphemeralContainer(
        name="debugger",
        image="busybox:1.35",
        command=["sh"],
        args=["-c", "echo hi"],
        stdin=True,
        stdin_once=True,
        tty=True,
        image_pull_policy="IfNotPresent",
        termination_message_policy="File",
        target_container_name="app",
    )
    eph.env.add(name="A", value="1")
    eph.volume_mounts.add(name="data", mount_path="/data")

    container = as_container(eph)

    assert container.name == "debugger" and container.image == "busybox:1.35"
    assert list(container.command) == ["sh"] and list(container.args) == ["-c", "echo hi"]
    assert container.stdin and container.stdin_once and container.tty
    assert container.env[0].value == "1" and container.volume_mounts[0].mount_path == "/data"
    assert container.image_pull_policy == "IfNotPresent"
    # The target is the ephemeral container's own: nothing of it rides along.
    assert (
        container.SerializeToString()
        == as_container(
            core_pb2.EphemeralContainer.FromString(eph.SerializeToString())
        ).SerializeToString()
    )
    assert b"app" not in container.SerializeToString()


def test_every_container_field_has_the_same_number_in_an_ephemeral_container() -> None:
    ours = core_pb2.EphemeralContainer.DESCRIPTOR.fields_by_name
    for field in core_pb2.Container.DESCRIPTOR.fields:
        assert field.name in ours, field.name
        assert ours[field.name].number == field.number, field.name
