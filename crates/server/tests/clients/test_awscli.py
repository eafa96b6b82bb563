"""The aws CLI, unchanged, against `keyward serve` (`aws --endpoint-url ... kms ...`)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

from common import ENDPOINT, PRINCIPALS, REGION

AWS = os.path.join(os.path.dirname(sys.executable), "aws")


def aws(principal, *args, check=True):
    """Runs `aws kms ARGS` as `principal`; (exit status, parsed JSON or stderr)."""
    p = PRINCIPALS[principal]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        "AWS_ACCESS_KEY_ID": p["key"],
        "AWS_SECRET_ACCESS_KEY": p["secret"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1",
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


if __name__ == "__main__":
    unittest.main()
