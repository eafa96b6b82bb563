"""Shared by the client suites: the endpoint and principals of the server the Rust test started
(crates/server/tests/clients.rs passes them in KEYWARD_TEST_*), and boto3 clients for them."""

import base64
import json
import os

import boto3
from botocore.config import Config

ENDPOINT = os.environ["KEYWARD_TEST_ENDPOINT"]
REGION = os.environ["KEYWARD_TEST_REGION"]
ACCOUNT = os.environ["KEYWARD_TEST_ACCOUNT"]
PRINCIPALS = json.loads(os.environ["KEYWARD_TEST_PRINCIPALS"])


def kms(name, secret=None, key=None, validate=True):
    """A boto3 KMS client signing as principal `name` (no retries: each call is one request;
    botocore's `max_attempts` counts retries, `total_max_attempts` counts every attempt).
    `validate=False` turns botocore's own parameter checks off, so that the server's answer to
    a request AWS would refuse is what the test sees."""
    p = PRINCIPALS[name]
    return boto3.client(
        "kms",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=key or p["key"],
        aws_secret_access_key=secret or p["secret"],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=validate),
    )


def retrying(name, region=None):
    """A boto3 client that retries as applications should: standard mode, up to 10 attempts,
    exponential backoff with jitter."""
    p = PRINCIPALS[name]
    return boto3.client(
        "kms",
        endpoint_url=ENDPOINT,
        region_name=region or REGION,
        aws_access_key_id=p["key"],
        aws_secret_access_key=p["secret"],
        config=Config(retries={"total_max_attempts": 10, "mode": "standard"}),
    )


def arn(name):
    return PRINCIPALS[name]["arn"]


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, actions, condition=None, sid=None):
    s = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Resource": "*"}
    if condition:
        s["Condition"] = condition
    if sid:
        s["Sid"] = sid
    return s


def b64(data):
    return base64.b64encode(data).decode()
