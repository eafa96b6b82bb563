"""Report mode (`enforcement = "report"`), through boto3 and the aws CLI: calls that enforce
mode refuses go through, and each denial is in the audit log with AWS's message, the engine's
explanation and `"enforced": false`."""

import json
import os
import unittest

from common import arn, kms
from test_awscli import aws

AUDIT_LOG = os.environ["KEYWARD_TEST_AUDIT_LOG"]


def denials(event, principal):
    """The denials the audit log holds for `event` calls by `principal`, oldest first."""
    out = []
    with open(AUDIT_LOG, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["eventName"] != event or record["userIdentity"]["arn"] != arn(principal):
                continue
            out.extend(d for d in record["keyward"]["decisions"] if d["verdict"] != "Allow")
    return out


class ReportModeBoto3(unittest.TestCase):
    def test_a_denied_encrypt_and_decrypt_go_through_and_are_audited(self):
        # The default key policy delegates to IAM, and alice has no identity policy.
        key = kms("admin").create_key(Description="report mode")["KeyMetadata"]["KeyId"]
        alice = kms("alice")
        blob = alice.encrypt(KeyId=key, Plaintext=b"reported", EncryptionContext={"app": "r"})[
            "CiphertextBlob"
        ]
        plain = alice.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "r"})["Plaintext"]
        self.assertEqual(plain, b"reported")
        for event, action in (("Encrypt", "kms:Encrypt"), ("Decrypt", "kms:Decrypt")):
            found = denials(event, "alice")
            self.assertTrue(found, f"{event} denial audited")
            d = found[-1]
            self.assertEqual(d["enforced"], False)
            self.assertEqual(d["verdict"], "ImplicitDeny")
            self.assertEqual(d["action"], action)
            self.assertIn(f"is not authorized to perform: {action}", d["message"])
            self.assertIn(action, d["explanation"])
            self.assertIn("no identity policy allows it", d["explanation"])

    def test_allowed_calls_are_enforced_as_always(self):
        admin = kms("admin")
        key = admin.create_key()["KeyMetadata"]["KeyId"]
        admin.describe_key(KeyId=key)
        self.assertEqual(denials("DescribeKey", "admin"), [])


class ReportModeAwsCli(unittest.TestCase):
    def test_the_aws_cli_call_enforce_mode_refuses_goes_through(self):
        status, listed = aws("alice", "list-keys")
        self.assertEqual(status, 0)
        self.assertIn("Keys", listed)
        found = denials("ListKeys", "alice")
        self.assertTrue(found)
        self.assertEqual(found[-1]["enforced"], False)
        self.assertIn("kms:ListKeys", found[-1]["message"])


if __name__ == "__main__":
    unittest.main()
