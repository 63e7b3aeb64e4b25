"""The DNS table and answers, without sockets."""

from __future__ import annotations

from typing import Any

from dnslib import QTYPE, RCODE, DNSRecord

from client.codec import from_dict
from proto import core_pb2
from proxy.dns import answer, build_table


def objects() -> tuple[list[core_pb2.Service], dict[str, core_pb2.Endpoints]]:
    def svc(name: str, spec: dict[str, Any]) -> core_pb2.Service:
        return from_dict(core_pb2.Service, {"metadata": {"name": name, "namespace": "shop"},
                                            "spec": spec})

    services = [
        svc("web", {"clusterIP": "172.30.255.5",
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}),
        svc("db", {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}),
        svc("mail", {"type": "ExternalName", "externalName": "smtp.example.com"}),
        svc("front", {"type": "ExternalName", "externalName": "web.shop.svc.cluster.local."}),
        svc("loop-a", {"type": "ExternalName", "externalName": "loop-b.shop.svc.cluster.local"}),
        svc("loop-b", {"type": "ExternalName", "externalName": "loop-a.shop.svc.cluster.local"}),
    ]
    ep = from_dict(core_pb2.Endpoints, {
        "metadata": {"name": "db", "namespace": "shop"},
        "subsets": [{"addresses": [{"ip": "172.30.1.5", "hostname": "db-0"},
                                   {"ip": "172.30.2.6"}],
                     "notReadyAddresses": [{"ip": "172.30.3.7"}],
                     "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}]})
    return services, {"shop/db": ep}


def ask(name: str, qtype: str, *, udp: bool = True) -> DNSRecord:
    table = build_table(*objects())
    out = answer(table, bytes(DNSRecord.question(name, qtype).pack()), udp=udp)
    assert out is not None
    return DNSRecord.parse(out)


def test_a_service_name_resolves_to_its_cluster_ip_case_insensitively() -> None:
    reply = ask("Web.Shop.svc.cluster.local", "A")
    assert [str(r.rdata) for r in reply.rr] == ["172.30.255.5"]
    assert reply.header.aa == 1


def test_a_headless_service_resolves_to_its_ready_pods_only() -> None:
    reply = ask("db.shop.svc.cluster.local", "A")
    assert sorted(str(r.rdata) for r in reply.rr) == ["172.30.1.5", "172.30.2.6"]
    assert [str(r.rdata) for r in ask("db-0.db.shop.svc.cluster.local", "A").rr] == ["172.30.1.5"]
    assert [str(r.rdata) for r in ask("172-30-2-6.db.shop.svc.cluster.local", "A").rr] == [
        "172.30.2.6"
    ]


def test_named_ports_have_srv_records() -> None:
    web = ask("_http._tcp.web.shop.svc.cluster.local", "SRV").rr
    assert [(r.rdata.port, str(r.rdata.target)) for r in web] == [
        (80, "web.shop.svc.cluster.local.")
    ]
    db = ask("_pg._tcp.db.shop.svc.cluster.local", "SRV").rr
    assert sorted(str(r.rdata.target) for r in db) == [
        "172-30-2-6.db.shop.svc.cluster.local.", "db-0.db.shop.svc.cluster.local."
    ]


def test_unknown_names_are_nxdomain_and_other_types_are_empty() -> None:
    assert ask("nope.shop.svc.cluster.local", "A").header.rcode == RCODE.NXDOMAIN
    aaaa = ask("web.shop.svc.cluster.local", "AAAA")
    assert aaaa.header.rcode == RCODE.NOERROR and aaaa.rr == []
    assert ask("shop.svc.cluster.local", "A").header.rcode == RCODE.NOERROR


def test_names_outside_the_cluster_domain_are_refused_not_forwarded() -> None:
    assert ask("example.org", "A").header.rcode == RCODE.REFUSED


def test_garbage_gets_no_answer() -> None:
    assert answer(build_table([], {}), b"\x00\x01garbage", udp=True) is None


def test_an_answer_too_big_for_udp_is_truncated() -> None:
    services, _ = objects()
    ep = from_dict(core_pb2.Endpoints, {
        "metadata": {"name": "db", "namespace": "shop"},
        "subsets": [{"addresses": [{"ip": f"172.30.{i}.{j}"} for i in range(1, 5)
                                   for j in range(1, 30)]}]})
    table = build_table(services, {"shop/db": ep})
    query = bytes(DNSRecord.question("db.shop.svc.cluster.local", "A").pack())
    udp = DNSRecord.parse(answer(table, query, udp=True) or b"")
    tcp = DNSRecord.parse(answer(table, query, udp=False) or b"")
    assert udp.header.tc == 1 and not udp.rr
    assert len(tcp.rr) == 116
    assert all(r.rtype == QTYPE.A for r in tcp.rr)


def test_an_external_name_is_a_cname_whatever_type_is_asked_and_is_not_followed_outside() -> None:
    for qtype in ("A", "AAAA", "CNAME"):
        reply = ask("mail.shop.svc.cluster.local", qtype)
        assert reply.header.rcode == RCODE.NOERROR
        assert [(QTYPE[r.rtype], str(r.rdata)) for r in reply.rr] == [
            ("CNAME", "smtp.example.com.")
        ], qtype


def test_an_external_name_aliasing_a_service_brings_that_services_address() -> None:
    reply = ask("Front.shop.svc.cluster.local", "A")
    assert [(str(r.rname), QTYPE[r.rtype], str(r.rdata)) for r in reply.rr] == [
        ("Front.shop.svc.cluster.local.", "CNAME", "web.shop.svc.cluster.local."),
        ("web.shop.svc.cluster.local.", "A", "172.30.255.5"),
    ]


def test_external_names_that_alias_each_other_end_after_a_few_steps() -> None:
    reply = ask("loop-a.shop.svc.cluster.local", "A")
    assert reply.header.rcode == RCODE.NOERROR
    assert 1 < len(reply.rr) <= 8 and {QTYPE[r.rtype] for r in reply.rr} == {"CNAME"}
