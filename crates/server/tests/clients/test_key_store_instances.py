"""A custom key store registered through one `keyward serve` instance, used through another on
the same PostgreSQL database (crates/cli/tests/cli/instances.rs starts both with SoftHSMv2 and
the token `shared`)."""

import os
import unittest

from common import PRINCIPALS

import boto3
from botocore.config import Config


def client(endpoint):
    p = PRINCIPALS["admin"]
    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=os.environ["KEYWARD_TEST_REGION"],
        aws_access_key_id=p["key"],
        aws_secret_access_key=p["secret"],
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
    )


class KeyStoreAcrossInstances(unittest.TestCase):
    def test_a_store_registered_on_one_serves_on_the_other(self):
        a = client(os.environ["KEYWARD_TEST_ENDPOINT"])
        b = client(os.environ["KEYWARD_TEST_ENDPOINT_B"])
        store = a.create_custom_key_store(
            CustomKeyStoreName="shared-hsm",
            CloudHsmClusterId="shared",
            KeyStorePassword="shared-pin-123",
            TrustAnchorCertificate="certificate",
        )["CustomKeyStoreId"]
        a.connect_custom_key_store(CustomKeyStoreId=store)
        key = a.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store)["KeyMetadata"]["KeyId"]
        blob = a.encrypt(KeyId=key, Plaintext=b"across")["CiphertextBlob"]
        # B has never heard of the store: reading the key, it reads the store too, and
        # connects its own session since the store is to be connected.
        self.assertEqual(b.decrypt(CiphertextBlob=blob)["Plaintext"], b"across")
        seen = b.describe_custom_key_stores(CustomKeyStoreId=store)["CustomKeyStores"][0]
        self.assertEqual((seen["CustomKeyStoreName"], seen["ConnectionState"]), ("shared-hsm", "CONNECTED"))
        other = b.encrypt(KeyId=key, Plaintext=b"back")["CiphertextBlob"]
        self.assertEqual(a.decrypt(CiphertextBlob=other)["Plaintext"], b"back")
        # Renamed through A: B lists the new name.
        a.update_custom_key_store(CustomKeyStoreId=store, NewCustomKeyStoreName="renamed-hsm")
        names = [s["CustomKeyStoreName"] for s in b.describe_custom_key_stores()["CustomKeyStores"]]
        self.assertIn("renamed-hsm", names)


if __name__ == "__main__":
    unittest.main()
