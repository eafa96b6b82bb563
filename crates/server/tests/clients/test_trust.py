"""boto3 against `keyward serve`: the fixes of the issue "Trust first", end to end. Each test is
named after its rule (item numbers of the issue in the docstrings)."""

import socket
import time
import unittest
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from common import ENDPOINT, allow, arn, kms, policy


def error(call, *args, **kwargs):
    """(code, message) of a call that must fail."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    raise AssertionError(f"{call.__name__} succeeded")


class Trust(unittest.TestCase):
    def setUp(self):
        self.admin = kms("admin")
        self.alice = kms("alice")
        self.bob = kms("bob")
        self.carol = kms("carol")

    def key(self, *statements):
        body = policy(allow(arn("admin"), "kms:*", sid="Admin"), *statements)
        return self.admin.create_key(Policy=body)["KeyMetadata"]

    def test_a_create_grant_only_grantee_cannot_grant_itself_decrypt(self):
        """Item 1 (high): a grant's CreateGrant can delegate only what the grant gives."""
        key = self.key()
        blob = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
        self.admin.create_grant(KeyId=key["KeyId"], GranteePrincipal=arn("alice"), Operations=["CreateGrant"])
        code, message = error(
            self.alice.create_grant,
            KeyId=key["Arn"],
            GranteePrincipal=arn("alice"),
            Operations=["Decrypt", "Encrypt", "GenerateDataKey"],
        )
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("kms:CreateGrant", message)
        code, _ = error(self.alice.decrypt, CiphertextBlob=blob)
        self.assertEqual(code, "AccessDeniedException")
        self.assertEqual(len(self.admin.list_grants(KeyId=key["KeyId"])["Grants"]), 1)

    def test_an_equals_parent_grant_cannot_give_a_subset_child(self):
        """Item 1: the child's constraint is at least as strict as the parent's."""
        key = self.key()
        equals = {"EncryptionContextEquals": {"tenant": "a"}}
        self.admin.create_grant(
            KeyId=key["KeyId"], GranteePrincipal=arn("alice"), Operations=["CreateGrant", "Decrypt"], Constraints=equals
        )
        code, _ = error(
            self.alice.create_grant,
            KeyId=key["Arn"],
            GranteePrincipal=arn("bob"),
            Operations=["Decrypt"],
            Constraints={"EncryptionContextSubset": {"tenant": "a"}},
        )
        self.assertEqual(code, "AccessDeniedException")
        self.alice.create_grant(KeyId=key["Arn"], GranteePrincipal=arn("bob"), Operations=["Decrypt"], Constraints=equals)

    def test_create_key_makes_the_key_in_the_callers_account(self):
        """Item 3: KMS creates a key in the caller's account; each account sees its own."""
        mine = self.carol.create_key()["KeyMetadata"]
        self.assertEqual(mine["AWSAccountId"], "444455556666")
        self.assertTrue(mine["Arn"].startswith("arn:aws:kms:us-east-1:444455556666:key/"), mine["Arn"])
        carols = [k["KeyId"] for k in self.carol.list_keys()["Keys"]]
        self.assertIn(mine["KeyId"], carols)
        admins = [k["KeyId"] for k in self.admin.list_keys()["Keys"]]
        self.assertNotIn(mine["KeyId"], admins)
        self.assertTrue(all(k not in carols for k in admins))
        self.assertIn(":444455556666:root", self.carol.get_key_policy(KeyId=mine["KeyId"], PolicyName="default")["Policy"])
        code, message = error(self.admin.describe_key, KeyId=mine["KeyId"])
        self.assertEqual(code, "NotFoundException")
        self.assertIn("arn:aws:kms:us-east-1:111122223333:key/", message)
        code, _ = error(self.admin.describe_key, KeyId=mine["Arn"])
        self.assertEqual(code, "AccessDeniedException")
        self.carol.create_alias(AliasName="alias/shared-name", TargetKeyId=mine["KeyId"])
        code, _ = error(self.admin.describe_key, KeyId="alias/shared-name")
        self.assertEqual(code, "NotFoundException")

    def test_encryption_context_keys_differing_in_case_must_all_meet_the_policy(self):
        """Item 4: every variant of a context key is read; an Allow must hold for each."""
        key = self.key(allow(arn("bob"), "kms:Decrypt", {"StringEquals": {"kms:EncryptionContext:tenant": "a"}}))
        both = {"TENANT": "a", "tenant": "b"}
        blob = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext=both)["CiphertextBlob"]
        code, _ = error(self.bob.decrypt, CiphertextBlob=blob, EncryptionContext=both)
        self.assertEqual(code, "AccessDeniedException")
        agree = {"TENANT": "a", "tenant": "a"}
        blob = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"y", EncryptionContext=agree)["CiphertextBlob"]
        self.assertEqual(self.bob.decrypt(CiphertextBlob=blob, EncryptionContext=agree)["Plaintext"], b"y")
        # A grant constrained to exactly {tenant: a} does not cover {TENANT: a, tenant: b}.
        granted = self.key()
        self.admin.create_grant(
            KeyId=granted["KeyId"],
            GranteePrincipal=arn("alice"),
            Operations=["Decrypt"],
            Constraints={"EncryptionContextEquals": {"tenant": "a"}},
        )
        blob = self.admin.encrypt(KeyId=granted["KeyId"], Plaintext=b"z", EncryptionContext=both)["CiphertextBlob"]
        code, _ = error(self.alice.decrypt, CiphertextBlob=blob, EncryptionContext=both)
        self.assertEqual(code, "AccessDeniedException")

    def test_unauthenticated_clients_cannot_take_the_server(self):
        """Item 5: half-sent heads cannot hold every connection slot; bodies are bounded."""
        url = urlparse(ENDPOINT)
        held = []
        try:
            for _ in range(1100):
                s = socket.create_connection((url.hostname, url.port))
                s.sendall(b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-tar")
                held.append(s)
            started = time.monotonic()
            self.admin.list_keys()
            self.assertLess(time.monotonic() - started, 5.0)
        finally:
            for s in held:
                s.close()
        # An encryption context no real one nears is refused before it is read.
        key = self.key()
        huge = {f"key-{i:05}": "v" * 8 for i in range(1000)}
        code, message = error(self.admin.encrypt, KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext=huge)
        self.assertEqual(code, "ValidationException")
        self.assertIn("8192", message)
        # A body over the limit is refused as too large.
        too_big = {f"key-{i:05}": "v" * 100 for i in range(2000)}
        try:
            self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext=too_big)
            raise AssertionError("a 200 KB request was accepted")
        except ClientError as e:
            self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 413)

    def test_a_bare_account_id_is_not_a_grantee_principal(self):
        """Item 10: GranteePrincipal is an ARN."""
        key = self.key()
        code, message = error(
            self.admin.create_grant, KeyId=key["KeyId"], GranteePrincipal="111122223333", Operations=["Decrypt"]
        )
        self.assertEqual(code, "ValidationException")
        self.assertIn("arn:aws:iam::111122223333:root", message)
        grant = self.admin.create_grant(
            KeyId=key["KeyId"], GranteePrincipal="arn:aws:iam::111122223333:root", Operations=["Decrypt"]
        )
        self.assertEqual(len(grant["GrantId"]), 64)

    def test_localstack_recordings_of_aws(self):
        """Item 18: key material IDs, RotateKeyOnDemand's ARN, tags and GenerateRandom as AWS answers."""
        unchecked = kms("admin", validate=False)
        key = self.admin.create_key()["KeyMetadata"]
        first = key["CurrentKeyMaterialId"]
        self.assertEqual(len(first), 64)
        blob = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
        self.assertEqual(self.admin.decrypt(CiphertextBlob=blob)["KeyMaterialId"], first)
        rotated = self.admin.rotate_key_on_demand(KeyId=key["KeyId"])
        self.assertEqual(rotated["KeyId"], key["Arn"])
        second = self.admin.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
        self.assertNotEqual(second, first)
        hmac = self.admin.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        self.assertNotIn("CurrentKeyMaterialId", hmac)
        for reserved in ["aws:key1", "AWS:key1"]:
            self.assertEqual(
                error(self.admin.tag_resource, KeyId=key["KeyId"], Tags=[{"TagKey": reserved, "TagValue": "v"}]),
                ("TagException", "Tags beginning with aws: are reserved"),
            )
        long_key = "k" * 129
        self.assertEqual(
            error(unchecked.tag_resource, KeyId=key["KeyId"], Tags=[{"TagKey": long_key, "TagValue": "v"}]),
            (
                "ValidationException",
                f"1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed to satisfy "
                "constraint: Member must have length less than or equal to 128",
            ),
        )
        self.assertEqual(
            error(unchecked.generate_random, NumberOfBytes=0)[1],
            "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        )
        self.assertEqual(
            error(unchecked.generate_random, NumberOfBytes=1025)[1],
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
            "Member must have value less than or equal to 1024",
        )
        code, message = error(unchecked.describe_key, KeyId="134f2428cec14b25a1ae9048164dba47")
        self.assertEqual((code, message), ("NotFoundException", "Invalid keyId '134f2428cec14b25a1ae9048164dba47'"))

    def test_aliases_only_where_aws_takes_them(self):
        """Item 19: operations that take a key ID or ARN refuse an alias as AWS does."""
        key = self.admin.create_key()["KeyMetadata"]
        self.admin.create_alias(AliasName="alias/trust", TargetKeyId=key["KeyId"])
        for call, kwargs in [
            (self.admin.enable_key_rotation, {}),
            (self.admin.get_key_policy, {"PolicyName": "default"}),
            (self.admin.list_resource_tags, {}),
            (self.admin.disable_key, {}),
            (self.admin.schedule_key_deletion, {"PendingWindowInDays": 7}),
        ]:
            self.assertEqual(
                error(call, KeyId="alias/trust", **kwargs),
                ("NotFoundException", "Invalid keyId 'alias/trust'"),
                call.__name__,
            )
        self.assertEqual(
            error(self.admin.create_alias, AliasName="alias/other", TargetKeyId="alias/trust"),
            ("ValidationException", "Aliases must refer to keys. Not aliases"),
        )
        self.assertEqual(self.admin.describe_key(KeyId="alias/trust")["KeyMetadata"]["KeyId"], key["KeyId"])
        code, message = error(
            self.admin.create_grant, KeyId=key["KeyId"], GranteePrincipal=arn("bob"), Operations=["Decrypt", "Dance"]
        )
        self.assertEqual(code, "ValidationException")
        self.assertTrue(
            message.startswith(
                "1 validation error detected: Value '[Decrypt, Dance]' at 'operations' failed to satisfy constraint: "
                "Member must satisfy constraint: [Member must satisfy enum value set: [Decrypt, Encrypt,"
            ),
            message,
        )
        aliases = self.admin.list_aliases()["Aliases"]
        predefined = [a for a in aliases if a["AliasName"] == "alias/aws/s3"]
        self.assertEqual(len(predefined), 1)
        self.assertNotIn("TargetKeyId", predefined[0])


if __name__ == "__main__":
    unittest.main()
