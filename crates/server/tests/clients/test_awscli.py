"""The aws CLI, unchanged, against `keyward serve` (`aws --endpoint-url ... kms ...`)."""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

from common import ENDPOINT, PRINCIPALS, REGION

AWS = os.path.join(os.path.dirname(sys.executable), "aws")


def aws(principal, *args, check=True, max_attempts="1", region=REGION):
    """Runs `aws kms ARGS` as `principal` in `region`, with `max_attempts` attempts in the
    standard retry mode; (exit status, parsed JSON or stderr)."""
    p = PRINCIPALS[principal]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        "AWS_ACCESS_KEY_ID": p["key"],
        "AWS_SECRET_ACCESS_KEY": p["secret"],
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": max_attempts,
        "AWS_RETRY_MODE": "standard",
    }
    done = subprocess.run(
        [AWS, "--endpoint-url", ENDPOINT, "--output", "json", "kms", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"aws kms {' '.join(args)}: {done.stderr}")
    if done.returncode == 0:
        return 0, json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, done.stderr


class AwsCli(unittest.TestCase):
    def test_the_aws_cli_works_unchanged(self):
        _, created = aws("admin", "create-key", "--description", "cli", "--tags", "TagKey=env,TagValue=cli")
        key = created["KeyMetadata"]["KeyId"]
        aws("admin", "create-alias", "--alias-name", "alias/cli", "--target-key-id", key)
        _, described = aws("admin", "describe-key", "--key-id", "alias/cli")
        self.assertEqual(described["KeyMetadata"]["KeyId"], key)
        with tempfile.TemporaryDirectory() as tmp:
            plain = os.path.join(tmp, "plain")
            with open(plain, "wb") as f:
                f.write(b"from the aws cli")
            _, encrypted = aws(
                "admin", "encrypt", "--key-id", "alias/cli", "--plaintext", f"fileb://{plain}",
                "--encryption-context", "app=cli",
            )
            blob = os.path.join(tmp, "blob")
            import base64

            with open(blob, "wb") as f:
                f.write(base64.b64decode(encrypted["CiphertextBlob"]))
            _, decrypted = aws(
                "admin", "decrypt", "--ciphertext-blob", f"fileb://{blob}", "--encryption-context", "app=cli"
            )
            self.assertEqual(base64.b64decode(decrypted["Plaintext"]), b"from the aws cli")
            status, stderr = aws("alice", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                                 "--encryption-context", "app=cli", check=False)
            self.assertNotEqual(status, 0)
            self.assertIn("AccessDeniedException", stderr)
            self.assertIn("is not authorized to perform: kms:Decrypt", stderr)
        _, keys = aws("admin", "list-keys")
        self.assertIn(key, [k["KeyId"] for k in keys["Keys"]])
        _, aliases = aws("admin", "list-aliases", "--key-id", key)
        self.assertEqual([a["AliasName"] for a in aliases["Aliases"]], ["alias/cli"])
        _, tags = aws("admin", "list-resource-tags", "--key-id", key)
        self.assertEqual(tags["Tags"], [{"TagKey": "env", "TagValue": "cli"}])
        aws("admin", "enable-key-rotation", "--key-id", key)
        _, rotation = aws("admin", "get-key-rotation-status", "--key-id", key)
        self.assertTrue(rotation["KeyRotationEnabled"])
        aws("admin", "disable-key", "--key-id", key)
        status, stderr = aws("admin", "generate-data-key", "--key-id", key, "--key-spec", "AES_256", check=False)
        self.assertNotEqual(status, 0)
        self.assertIn("DisabledException", stderr)


    def test_the_trust_fixes_through_the_aws_cli(self):
        """The issue "Trust first", items 1, 3, 4, 5, 10, 18 and 19, through the aws CLI."""
        admin_only = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": PRINCIPALS["admin"]["arn"]},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "BobTenantA", "Effect": "Allow", "Principal": {"AWS": PRINCIPALS["bob"]["arn"]},
             "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "a"}}}]})
        _, created = aws("admin", "create-key", "--policy", admin_only)
        key = created["KeyMetadata"]
        self.assertEqual(len(key["CurrentKeyMaterialId"]), 64)
        # 1: a CreateGrant-only grantee cannot grant itself Decrypt.
        aws("admin", "create-grant", "--key-id", key["KeyId"], "--grantee-principal",
            PRINCIPALS["alice"]["arn"], "--operations", "CreateGrant")
        status, stderr = aws("alice", "create-grant", "--key-id", key["Arn"], "--grantee-principal",
                             PRINCIPALS["alice"]["arn"], "--operations", "Decrypt", check=False)
        self.assertNotEqual(status, 0)
        self.assertIn("AccessDeniedException", stderr)
        # 10: a bare account ID is no grantee.
        status, stderr = aws("admin", "create-grant", "--key-id", key["KeyId"], "--grantee-principal",
                             "111122223333", "--operations", "Decrypt", check=False)
        self.assertIn("ValidationException", stderr)
        # 3: carol's key is in carol's account, and only carol lists it.
        _, carols = aws("carol", "create-key")
        self.assertEqual(carols["KeyMetadata"]["AWSAccountId"], "444455556666")
        _, keys = aws("admin", "list-keys")
        self.assertNotIn(carols["KeyMetadata"]["KeyId"], [k["KeyId"] for k in keys["Keys"]])
        # 4: context keys differing only in case must all meet bob's condition.
        with tempfile.TemporaryDirectory() as tmp:
            plain = os.path.join(tmp, "plain")
            with open(plain, "wb") as f:
                f.write(b"x")
            _, encrypted = aws("admin", "encrypt", "--key-id", key["KeyId"], "--plaintext", f"fileb://{plain}",
                               "--encryption-context", "TENANT=a,tenant=b")
            import base64

            blob = os.path.join(tmp, "blob")
            with open(blob, "wb") as f:
                f.write(base64.b64decode(encrypted["CiphertextBlob"]))
            status, stderr = aws("bob", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                                 "--encryption-context", "TENANT=a,tenant=b", check=False)
            self.assertIn("AccessDeniedException", stderr)
            # 5: an encryption context no real one nears is refused before it is read.
            request = os.path.join(tmp, "huge.json")
            with open(request, "w") as f:
                json.dump({"KeyId": key["KeyId"], "Plaintext": "eA==",
                           "EncryptionContext": {f"key-{i:05}": "v" * 8 for i in range(1000)}}, f)
            status, stderr = aws("admin", "encrypt", "--cli-input-json", f"file://{request}", check=False)
            self.assertIn("ValidationException", stderr)
        # 18: RotateKeyOnDemand answers the ARN; aws: tags are reserved.
        _, rotated = aws("admin", "rotate-key-on-demand", "--key-id", key["KeyId"])
        self.assertEqual(rotated["KeyId"], key["Arn"])
        status, stderr = aws("admin", "tag-resource", "--key-id", key["KeyId"], "--tags",
                             "TagKey=AWS:x,TagValue=v", check=False)
        self.assertIn("TagException", stderr)
        self.assertIn("Tags beginning with aws: are reserved", stderr)
        # 19: GetKeyPolicy takes a key ID or key ARN, not an alias.
        aws("admin", "create-alias", "--alias-name", "alias/cli-trust", "--target-key-id", key["KeyId"])
        status, stderr = aws("admin", "get-key-policy", "--key-id", "alias/cli-trust", "--policy-name", "default",
                             check=False)
        self.assertIn("NotFoundException", stderr)
        self.assertIn("Invalid keyId 'alias/cli-trust'", stderr)

    def test_ml_dsa_through_the_aws_cli(self):
        _, created = aws("admin", "create-key", "--key-spec", "ML_DSA_65", "--key-usage", "SIGN_VERIFY")
        key = created["KeyMetadata"]["KeyId"]
        with tempfile.TemporaryDirectory() as tmp:
            message = os.path.join(tmp, "message")
            with open(message, "wb") as f:
                f.write(b"signed by ML-DSA-65")
            _, signed = aws(
                "admin", "sign", "--key-id", key, "--message", f"fileb://{message}",
                "--message-type", "RAW", "--signing-algorithm", "ML_DSA_SHAKE_256",
            )
            signature = os.path.join(tmp, "signature")
            import base64

            with open(signature, "wb") as f:
                f.write(base64.b64decode(signed["Signature"]))
            _, verified = aws(
                "admin", "verify", "--key-id", key, "--message", f"fileb://{message}", "--message-type", "RAW",
                "--signature", f"fileb://{signature}", "--signing-algorithm", "ML_DSA_SHAKE_256",
            )
            self.assertTrue(verified["SignatureValid"])
            digest = os.path.join(tmp, "digest")
            with open(digest, "wb") as f:
                f.write(b"\0" * 64)
            status, stderr = aws(
                "admin", "sign", "--key-id", key, "--message", f"fileb://{digest}", "--message-type", "DIGEST",
                "--signing-algorithm", "ML_DSA_SHAKE_256", check=False,
            )
            self.assertNotEqual(status, 0)
            self.assertIn("Message type DIGEST is incompatible with key spec ML_DSA_65.", stderr)
            # EXTERNAL_MU: mu of the same message, computed here; its signature is the message's.
            _, public = aws("admin", "get-public-key", "--key-id", key)
            raw = base64.b64decode(public["PublicKey"])[22:]
            tr = hashlib.shake_256(raw).digest(64)
            mu = os.path.join(tmp, "mu")
            with open(mu, "wb") as f:
                f.write(hashlib.shake_256(tr + b"\0\0" + b"signed by ML-DSA-65").digest(64))
            _, signed = aws(
                "admin", "sign", "--key-id", key, "--message", f"fileb://{mu}",
                "--message-type", "EXTERNAL_MU", "--signing-algorithm", "ML_DSA_SHAKE_256",
            )
            with open(signature, "wb") as f:
                f.write(base64.b64decode(signed["Signature"]))
            _, verified = aws(
                "admin", "verify", "--key-id", key, "--message", f"fileb://{message}", "--message-type", "RAW",
                "--signature", f"fileb://{signature}", "--signing-algorithm", "ML_DSA_SHAKE_256",
            )
            self.assertTrue(verified["SignatureValid"])
        self.assertEqual(public["SigningAlgorithms"], ["ML_DSA_SHAKE_256"])


if __name__ == "__main__":
    unittest.main()
