"""Request quotas (`[quotas]`), through boto3 and the aws CLI, against a server whose symmetric
cryptographic rate is 5 per second and whose GetKeyRotationStatus rate is one per 10 seconds:
a client that does not retry sees AWS's ThrottlingException, and a client that retries as the
SDKs do passes under the quota."""

import unittest

from botocore.exceptions import ClientError

from common import kms, retrying
from test_awscli import aws

THROTTLED = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."


class QuotasBoto3(unittest.TestCase):
    def test_a_burst_beyond_the_rate_is_throttled_with_aws_error(self):
        client = kms("carol")  # no retries; an account of its own, counted apart
        codes = []
        for _ in range(15):
            try:
                client.generate_random(NumberOfBytes=16)
                codes.append("ok")
            except ClientError as e:
                codes.append(e.response["Error"]["Code"])
                self.assertEqual(e.response["Error"]["Message"], THROTTLED)
                self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertIn("ok", codes)
        self.assertIn("ThrottlingException", codes)

    def test_a_retrying_client_passes_under_the_quota(self):
        key = retrying("admin").create_key()["KeyMetadata"]["KeyId"]
        client = retrying("admin")
        for i in range(12):
            blob = client.encrypt(KeyId=key, Plaintext=b"n%d" % i)["CiphertextBlob"]
            self.assertEqual(client.decrypt(CiphertextBlob=blob)["Plaintext"], b"n%d" % i)


class QuotasAwsCli(unittest.TestCase):
    def test_the_aws_cli_sees_throttling_exception(self):
        _, created = aws("admin", "create-key")
        key = created["KeyMetadata"]["KeyId"]
        status, _ = aws("admin", "get-key-rotation-status", "--key-id", key)
        self.assertEqual(status, 0)
        status, stderr = aws("admin", "get-key-rotation-status", "--key-id", key, check=False)
        self.assertNotEqual(status, 0)
        self.assertIn("ThrottlingException", stderr)
        self.assertIn(THROTTLED, stderr)


if __name__ == "__main__":
    unittest.main()
