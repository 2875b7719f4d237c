"""moto's ECR API server on 127.0.0.1, and the environment a process needs to reach it (never real AWS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import requests
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class MotoEcr:
    server: Any
    endpoint: str

    def env(self) -> dict[str, str]:
        """What a child process (the syncer, the CLI) needs so boto3 talks to moto and nothing else."""
        return {
            "AWS_ENDPOINT_URL_ECR": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self) -> Any:
        return boto3.client(
            "ecr",
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def repo_uri(self, name: str) -> str:
        return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}"

    def reset(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        self.server.stop()


def start() -> MotoEcr:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return MotoEcr(server=server, endpoint=f"http://{host}:{port}")
