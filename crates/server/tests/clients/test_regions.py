"""Several Regions (`regions = ["us-east-1", "eu-west-1"]`), through boto3 and the aws CLI: each
client's Region is the one its requests are served in."""

import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from common import ENDPOINT, PRINCIPALS
from test_awscli import aws


def kms_in(region, name="admin"):
    p = PRINCIPALS[name]
    return boto3.client(
        "kms",
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id=p["key"],
        aws_secret_access_key=p["secret"],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


class RegionsBoto3(unittest.TestCase):
    def test_keys_and_aliases_are_per_region(self):
        eu, us = kms_in("eu-west-1"), kms_in("us-east-1")
        key = eu.create_key(Description="eu")["KeyMetadata"]
        self.assertTrue(key["Arn"].startswith("arn:aws:kms:eu-west-1:"))
        eu.create_alias(AliasName="alias/regional", TargetKeyId=key["KeyId"])
        self.assertEqual(eu.describe_key(KeyId="alias/regional")["KeyMetadata"]["KeyId"], key["KeyId"])
        with self.assertRaises(ClientError) as caught:
            us.describe_key(KeyId="alias/regional")
        self.assertEqual(caught.exception.response["Error"]["Code"], "NotFoundException")
        self.assertNotIn(key["KeyId"], [k["KeyId"] for k in us.list_keys()["Keys"]])

    def test_a_region_not_served_is_refused(self):
        with self.assertRaises(ClientError) as caught:
            kms_in("ap-south-1").list_keys()
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidSignatureException")


class RegionsAwsCli(unittest.TestCase):
    def test_the_aws_cli_region_flag_picks_the_region(self):
        _, created = aws("admin", "create-key", region="eu-west-1")
        self.assertTrue(created["KeyMetadata"]["Arn"].startswith("arn:aws:kms:eu-west-1:"))
        _, listed = aws("admin", "list-keys", region="eu-west-1")
        self.assertIn(created["KeyMetadata"]["KeyId"], [k["KeyId"] for k in listed["Keys"]])
        _, listed = aws("admin", "list-keys", region="us-east-1")
        self.assertNotIn(created["KeyMetadata"]["KeyId"], [k["KeyId"] for k in listed["Keys"]])


if __name__ == "__main__":
    unittest.main()
