"""Seeding (`seed = "seed.toml"`), through boto3 and the aws CLI: the server starts with the
seeded key, under its given ID, alias, tags and policy, ready to use."""

import json
import unittest

from common import ACCOUNT, kms
from test_awscli import aws

KEY = "5eed0000-0000-4000-8000-000000000001"


class SeedBoto3(unittest.TestCase):
    def test_the_seeded_key_is_there_with_its_id_alias_tags_and_policy(self):
        admin = kms("admin")
        meta = admin.describe_key(KeyId="alias/seeded")["KeyMetadata"]
        self.assertEqual(meta["KeyId"], KEY)
        self.assertEqual(meta["Arn"], f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY}")
        self.assertEqual(meta["Description"], "seeded")
        tags = admin.list_resource_tags(KeyId=KEY)["Tags"]
        self.assertEqual(tags, [{"TagKey": "origin", "TagValue": "seed"}])
        policy = json.loads(admin.get_key_policy(KeyId=KEY, PolicyName="default")["Policy"])
        self.assertEqual(policy["Statement"][0]["Sid"], "Root")
        blob = admin.encrypt(KeyId="alias/seeded", Plaintext=b"seeded")["CiphertextBlob"]
        out = admin.decrypt(CiphertextBlob=blob)
        self.assertEqual(out["Plaintext"], b"seeded")
        self.assertEqual(out["KeyId"], meta["Arn"])


class SeedAwsCli(unittest.TestCase):
    def test_the_aws_cli_finds_the_seeded_alias(self):
        _, listed = aws("admin", "list-aliases", "--key-id", KEY)
        self.assertEqual([a["AliasName"] for a in listed["Aliases"]], ["alias/seeded"])


if __name__ == "__main__":
    unittest.main()
