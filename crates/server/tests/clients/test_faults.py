"""Fault injection (`[quotas] fault_rate`), through boto3 and the aws CLI, against a server that
answers 30% of calls with ThrottlingException or KMSInternalException, or after a delay: the
retrying client of the README passes, and one that does not retry sees the injected errors."""

import unittest

from botocore.exceptions import ClientError

from common import kms, retrying
from test_awscli import aws


class FaultsBoto3(unittest.TestCase):
    def test_a_retrying_client_passes_through_injected_faults(self):
        client = retrying("admin")
        key = client.create_key()["KeyMetadata"]["KeyId"]
        for i in range(12):
            blob = client.encrypt(KeyId=key, Plaintext=b"f%d" % i)["CiphertextBlob"]
            self.assertEqual(client.decrypt(CiphertextBlob=blob)["Plaintext"], b"f%d" % i)

    def test_a_client_that_does_not_retry_sees_the_injected_errors(self):
        client = kms("carol")
        seen = set()
        for _ in range(40):
            try:
                client.generate_random(NumberOfBytes=8)
            except ClientError as e:
                seen.add((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]))
        self.assertIn(("ThrottlingException", 400), seen)
        self.assertIn(("KMSInternalException", 500), seen)


class FaultsAwsCli(unittest.TestCase):
    def test_the_aws_cli_with_its_default_retries_passes(self):
        # AWS_MAX_ATTEMPTS=1 in the helper; the CLI's own retries are what users get, so lift it.
        for _ in range(5):
            status, out = aws("admin", "list-keys", max_attempts="10")
            self.assertEqual(status, 0, out)


if __name__ == "__main__":
    unittest.main()
