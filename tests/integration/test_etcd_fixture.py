import aetcd


async def test_the_etcd_fixture_serves_a_real_etcd_with_an_empty_keyspace(etcd_clean):
    host, port = etcd_clean.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as c:
        assert await c.get(b"/registry/x") is None
        await c.put(b"/registry/x", b"1")
        got = await c.get(b"/registry/x")
        assert got is not None and got.value == b"1"
