"""AWS managed keys, through boto3 and the aws CLI: `dave` signs as S3 would call on someone's
behalf (`via_service = "s3.us-east-1.amazonaws.com"` in the config), so his first use of
alias/aws/s3 creates the AWS managed key; nothing about it can be changed, and it is used
through S3 only."""

import unittest

from botocore.exceptions import ClientError

from common import kms
from test_awscli import aws


def through_s3():
    """Dave's call through S3, which makes the managed key the first time; its metadata."""
    kms("dave").encrypt(KeyId="alias/aws/s3", Plaintext=b"an object")
    return kms("admin").describe_key(KeyId="alias/aws/s3")["KeyMetadata"]


class ManagedBoto3(unittest.TestCase):
    def test_first_use_through_the_service_creates_an_aws_managed_key(self):
        meta = through_s3()
        self.assertEqual(meta["KeyManager"], "AWS")
        self.assertEqual(meta["Description"], "Default key that protects my S3 objects when no other key is defined")
        admin = kms("admin")
        rotation = admin.get_key_rotation_status(KeyId=meta["KeyId"])
        self.assertTrue(rotation["KeyRotationEnabled"])
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in admin.list_aliases()["Aliases"]}
        self.assertEqual(aliases["alias/aws/s3"], meta["KeyId"])
        self.assertIsNone(aliases["alias/aws/ebs"], "not made until EBS uses it")
        for call, kwargs in (
            (admin.encrypt, {"KeyId": "alias/aws/s3", "Plaintext": b"direct"}),
            (admin.put_key_policy, {"KeyId": meta["KeyId"], "PolicyName": "default", "Policy": "{}"}),
            (admin.schedule_key_deletion, {"KeyId": meta["KeyId"]}),
            (admin.disable_key, {"KeyId": meta["KeyId"]}),
        ):
            with self.assertRaises(ClientError) as caught:
                call(**kwargs)
            self.assertIn(caught.exception.response["Error"]["Code"], ("AccessDeniedException", "MalformedPolicyDocumentException"))


class ManagedAwsCli(unittest.TestCase):
    def test_the_aws_cli_sees_key_manager_aws_and_cannot_delete_it(self):
        through_s3()
        _, described = aws("admin", "describe-key", "--key-id", "alias/aws/s3")
        self.assertEqual(described["KeyMetadata"]["KeyManager"], "AWS")
        status, stderr = aws("admin", "schedule-key-deletion", "--key-id", described["KeyMetadata"]["KeyId"], check=False)
        self.assertNotEqual(status, 0)
        self.assertIn("AccessDeniedException", stderr)


if __name__ == "__main__":
    unittest.main()
