"""kcd: Kubernetes Continuous Delivery."""

__version__ = "0.1.0"
