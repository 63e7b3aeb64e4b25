"""The controllers of CertificateSigningRequests, laid out as Kubernetes'
pkg/controller/certificates: the signer's CA and its signing policy (`authority.py`), what
each signer name agrees to sign (`signers.py`), what a request's conditions say
(`conditions.py`), the csrsigning controller (`signing.py`) and the csrcleaner
(`cleaner.py`). Split by what each file owns: the crypto and the rules are plain
functions, tested without an API server; only the two controllers talk to one.
"""
