"""Two `keyward serve` instances, A and B, on one PostgreSQL database (crates/cli/tests/cli/
instances.rs starts them): what one does, the other answers for, as AWS would."""

import json
import os
import threading
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from common import PRINCIPALS, REGION, allow, arn, policy

A = os.environ["KEYWARD_TEST_ENDPOINT"]
B = os.environ["KEYWARD_TEST_ENDPOINT_B"]
# The README's bound: a change through one instance is in the other's decisions within it.
BOUND = 0.1


def client(endpoint, name):
    p = PRINCIPALS[name]
    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=p["key"],
        aws_secret_access_key=p["secret"],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def until(condition, limit=5.0):
    """Seconds until `condition()` holds, polled as fast as the calls go."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            raise AssertionError("never held")
    return time.monotonic() - started


ADMIN_STATEMENT = allow(arn("admin"), "kms:*", sid="Admin")


def alice_policy(alice=True):
    statements = [ADMIN_STATEMENT]
    if alice:
        statements.append(allow(arn("alice"), ["kms:Encrypt", "kms:Decrypt"], sid="Alice"))
    return policy(*statements)


class TwoInstances(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_a, cls.admin_b = client(A, "admin"), client(B, "admin")
        cls.alice_a, cls.alice_b = client(A, "alice"), client(B, "alice")
        cls.reflected = {}

    @classmethod
    def tearDownClass(cls):
        # The measured delays, for the record (stdout).
        print("reflected on B after (ms):", json.dumps({k: round(v * 1000, 1) for k, v in cls.reflected.items()}))

    def key_for_alice(self):
        key = self.admin_a.create_key(Policy=alice_policy())["KeyMetadata"]["KeyId"]
        blob = self.admin_a.encrypt(KeyId=key, Plaintext=b"payload")["CiphertextBlob"]
        return key, blob

    def test_a_key_made_through_a_serves_through_b_on_the_next_request(self):
        key = self.admin_a.create_key()["KeyMetadata"]["KeyId"]
        self.admin_a.create_alias(AliasName="alias/made-on-a", TargetKeyId=key)
        blob = self.admin_b.encrypt(KeyId="alias/made-on-a", Plaintext=b"hello")["CiphertextBlob"]
        self.assertEqual(self.admin_a.decrypt(CiphertextBlob=blob)["Plaintext"], b"hello")
        described = self.admin_b.describe_key(KeyId="alias/made-on-a")["KeyMetadata"]
        self.assertEqual(described["KeyId"], key)

    def test_changes_through_a_are_in_bs_decisions_within_the_bound(self):
        def denied_on_b(blob):
            return lambda: code(lambda: self.alice_b.decrypt(CiphertextBlob=blob)) is not None

        key, blob = self.key_for_alice()
        self.alice_b.decrypt(CiphertextBlob=blob)
        self.admin_a.put_key_policy(KeyId=key, PolicyName="default", Policy=alice_policy(False))
        self.reflected["PutKeyPolicy"] = until(denied_on_b(blob))

        key, blob = self.key_for_alice()
        self.alice_b.decrypt(CiphertextBlob=blob)
        self.admin_a.disable_key(KeyId=key)
        self.reflected["DisableKey"] = until(denied_on_b(blob))

        key, blob = self.key_for_alice()
        self.alice_b.decrypt(CiphertextBlob=blob)
        self.admin_a.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        self.reflected["ScheduleKeyDeletion"] = until(denied_on_b(blob))

        for how in ("RevokeGrant", "RetireGrant"):
            key = self.admin_a.create_key()["KeyMetadata"]["KeyId"]
            blob = self.admin_a.encrypt(KeyId=key, Plaintext=b"payload")["CiphertextBlob"]
            grant = self.admin_a.create_grant(
                KeyId=key, GranteePrincipal=arn("alice"), Operations=["Decrypt"],
                RetiringPrincipal=arn("admin"),
            )["GrantId"]
            until(lambda: code(lambda: self.alice_b.decrypt(CiphertextBlob=blob)) is None)
            if how == "RevokeGrant":
                self.admin_a.revoke_grant(KeyId=key, GrantId=grant)
            else:
                self.admin_a.retire_grant(KeyId=key, GrantId=grant)
            self.reflected[how] = until(denied_on_b(blob))
        for what, after in self.reflected.items():
            self.assertLess(after, BOUND, what)

    def test_a_grant_token_from_a_works_through_b_at_once(self):
        key = self.admin_a.create_key()["KeyMetadata"]["KeyId"]
        blob = self.admin_a.encrypt(KeyId=key, Plaintext=b"payload")["CiphertextBlob"]
        # B holds the key before the grant.
        self.admin_b.describe_key(KeyId=key)
        token = self.admin_a.create_grant(
            KeyId=key, GranteePrincipal=arn("alice"), Operations=["Decrypt"]
        )["GrantToken"]
        plain = self.alice_b.decrypt(CiphertextBlob=blob, GrantTokens=[token])["Plaintext"]
        self.assertEqual(plain, b"payload")

    def test_conflicting_writes_on_both_instances_lose_nothing(self):
        # PutKeyPolicy through A racing CreateGrant and TagResource through B, on one key:
        # TagResource writes the key's row, as PutKeyPolicy does, so a write decided on a row
        # read before the other's would put the other's change back.
        key = self.admin_a.create_key()["KeyMetadata"]["KeyId"]
        rounds = 15
        errors = []

        def policies():
            for i in range(rounds):
                try:
                    self.admin_a.put_key_policy(
                        KeyId=key, PolicyName="default",
                        Policy=policy(ADMIN_STATEMENT, allow(arn("bob"), "kms:Decrypt", sid=f"Round{i}")),
                    )
                except ClientError as e:
                    errors.append(e)

        def grants():
            for i in range(rounds):
                try:
                    self.admin_b.create_grant(
                        KeyId=key, GranteePrincipal=arn("alice"), Operations=["Decrypt"], Name=f"g{i}"
                    )
                except ClientError as e:
                    errors.append(e)

        def tags():
            for i in range(rounds):
                try:
                    self.admin_b.tag_resource(KeyId=key, Tags=[{"TagKey": f"t{i}", "TagValue": "x"}])
                except ClientError as e:
                    errors.append(e)

        threads = [threading.Thread(target=f) for f in (policies, grants, tags)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

        def state(c):
            stored = c.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
            names = sorted(g["Name"] for g in c.list_grants(KeyId=key, Limit=100)["Grants"])
            tagged = sorted(t["TagKey"] for t in c.list_resource_tags(KeyId=key)["Tags"])
            return stored, names, tagged

        expected_names = sorted(f"g{i}" for i in range(rounds))
        expected_tags = sorted(f"t{i}" for i in range(rounds))
        for c in (self.admin_a, self.admin_b):
            # Each instance has all of it within the bound.
            until(lambda: state(c)[1:] == (expected_names, expected_tags) and f"Round{rounds - 1}" in state(c)[0])

        # Two UpdateAlias at once, on both instances: both agree where it ends.
        targets = [self.admin_a.create_key()["KeyMetadata"]["KeyId"] for _ in range(3)]
        self.admin_a.create_alias(AliasName="alias/contended", TargetKeyId=targets[0])

        def move(c, target):
            for _ in range(rounds):
                try:
                    c.update_alias(AliasName="alias/contended", TargetKeyId=target)
                except ClientError as e:
                    errors.append(e)

        threads = [
            threading.Thread(target=move, args=(self.admin_a, targets[1])),
            threading.Thread(target=move, args=(self.admin_b, targets[2])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

        def ends():
            return {
                c.describe_key(KeyId="alias/contended")["KeyMetadata"]["KeyId"]
                for c in (self.admin_a, self.admin_b)
            }

        # Both instances agree where it ends, within the bound, and each key lists the alias
        # only where it points.
        until(lambda: len(ends()) == 1)
        self.assertIn(ends().pop(), targets[1:])
        for c in (self.admin_a, self.admin_b):
            until(lambda: len([t for t in targets if c.list_aliases(KeyId=t)["Aliases"]]) == 1)

        # One CreateAlias of a name wins; the other instance says it exists.
        self.admin_a.create_alias(AliasName="alias/once", TargetKeyId=targets[0])
        self.assertEqual(
            code(lambda: self.admin_b.create_alias(AliasName="alias/once", TargetKeyId=targets[1])),
            "AlreadyExistsException",
        )


if __name__ == "__main__":
    unittest.main()
