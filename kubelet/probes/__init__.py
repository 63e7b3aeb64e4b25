"""Health probes: the checks (httpGet, tcpSocket, exec, grpc) and their periodic workers."""
