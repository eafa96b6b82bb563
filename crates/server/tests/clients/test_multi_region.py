"""Multi-Region keys with boto3 and the aws CLI (`--region`), against a server serving
us-east-1 and eu-west-1: replicate, decrypt across Regions, describe, move the primary."""

import base64
import os
import tempfile
import unittest

from test_awscli import aws
from test_regions import kms_in


class MultiRegionBoto3(unittest.TestCase):
    def test_replicate_describe_and_decrypt_across_regions(self):
        us, eu = kms_in("us-east-1"), kms_in("eu-west-1")
        key = us.create_key(MultiRegion=True)["KeyMetadata"]
        self.assertTrue(key["MultiRegion"])
        self.assertTrue(key["KeyId"].startswith("mrk-"))
        replica = us.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-west-1", Tags=[{"TagKey": "r", "TagValue": "eu"}])
        self.assertEqual(replica["ReplicaKeyMetadata"]["KeyId"], key["KeyId"])
        self.assertEqual(replica["ReplicaTags"], [{"TagKey": "r", "TagValue": "eu"}])
        config = us.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
        self.assertEqual(config["MultiRegionKeyType"], "PRIMARY")
        self.assertEqual([r["Region"] for r in config["ReplicaKeys"]], ["eu-west-1"])
        blob = eu.encrypt(KeyId=key["KeyId"], Plaintext=b"from eu")["CiphertextBlob"]
        self.assertEqual(us.decrypt(CiphertextBlob=blob)["Plaintext"], b"from eu")
        us.update_primary_region(KeyId=key["KeyId"], PrimaryRegion="eu-west-1")
        config = eu.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
        self.assertEqual(config["MultiRegionKeyType"], "PRIMARY")


class MultiRegionAwsCli(unittest.TestCase):
    def test_a_ciphertext_of_one_region_decrypts_with_the_replica_in_another(self):
        _, created = aws("admin", "create-key", "--multi-region", region="us-east-1")
        key = created["KeyMetadata"]["KeyId"]
        _, replica = aws("admin", "replicate-key", "--key-id", key, "--replica-region", "eu-west-1", region="us-east-1")
        self.assertTrue(replica["ReplicaKeyMetadata"]["Arn"].startswith("arn:aws:kms:eu-west-1:"))
        with tempfile.TemporaryDirectory() as tmp:
            plain = os.path.join(tmp, "plain")
            with open(plain, "wb") as f:
                f.write(b"made in us-east-1")
            _, encrypted = aws("admin", "encrypt", "--key-id", key, "--plaintext", f"fileb://{plain}", region="us-east-1")
            blob = os.path.join(tmp, "blob")
            with open(blob, "wb") as f:
                f.write(base64.b64decode(encrypted["CiphertextBlob"]))
            _, decrypted = aws("admin", "decrypt", "--ciphertext-blob", f"fileb://{blob}", region="eu-west-1")
            self.assertEqual(base64.b64decode(decrypted["Plaintext"]), b"made in us-east-1")
            self.assertTrue(decrypted["KeyId"].startswith("arn:aws:kms:eu-west-1:"))


if __name__ == "__main__":
    unittest.main()
