"""The local test environment: a real control plane, registries and moto ECR on 127.0.0.1.

Used by the pytest session fixtures (tests/conftest.py), by `make demo` (python -m tests.env) and by the benchmarks.
"""
