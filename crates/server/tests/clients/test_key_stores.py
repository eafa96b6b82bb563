"""Custom key stores backed by SoftHSMv2, through boto3 (crates/cli/tests/cli/key_stores.rs
starts `keyward serve` with two stores: hsm-1 on the token `keyward`, hsm-2 on the token `other`
with the wrong PIN). KEYWARD_TEST_PHASE is `first`, then `after_restart` once the server was
stopped and started again; KEYWARD_TEST_STATE is a file the first phase leaves for the second."""

import json
import os
import threading
import unittest

from botocore.exceptions import ClientError

from common import allow, arn, kms, policy

STORE = "cks-1234567890abcdef0"
OTHER = "cks-0fedcba9876543210"
PHASE = os.environ.get("KEYWARD_TEST_PHASE", "first")
STATE = os.environ["KEYWARD_TEST_STATE"]
AUDIT = os.environ["KEYWARD_TEST_AUDIT_LOG"]
CONTEXT = {"tenant": "acme"}


def code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def stores(k, **filters):
    return {s["CustomKeyStoreId"]: s for s in k.describe_custom_key_stores(**filters)["CustomKeyStores"]}


@unittest.skipUnless(PHASE == "first", "the first server run")
class FirstRun(unittest.TestCase):
    def test_1_the_stores_and_their_states(self):
        k = kms("admin")
        found = stores(k)
        self.assertEqual(found[STORE]["ConnectionState"], "CONNECTED")
        self.assertEqual(found[STORE]["CustomKeyStoreName"], "hsm-1")
        self.assertEqual(found[STORE]["CloudHsmClusterId"], "keyward")
        self.assertEqual(found[STORE]["CustomKeyStoreType"], "AWS_CLOUDHSM")
        # The second token, its PIN wrong: refused, and said why.
        self.assertEqual(found[OTHER]["ConnectionState"], "FAILED")
        self.assertEqual(found[OTHER]["ConnectionErrorCode"], "INVALID_CREDENTIALS")
        self.assertEqual(list(stores(k, CustomKeyStoreName="hsm-1")), [STORE])
        self.assertEqual(list(stores(k, CustomKeyStoreId=OTHER)), [OTHER])
        self.assertEqual(
            code(lambda: k.describe_custom_key_stores(CustomKeyStoreName="nope")),
            "CustomKeyStoreNotFoundException",
        )
        # FAILED: connect only after a disconnect (AWS's rule); then it fails again.
        self.assertEqual(
            code(lambda: k.connect_custom_key_store(CustomKeyStoreId=OTHER)),
            "CustomKeyStoreInvalidStateException",
        )
        k.disconnect_custom_key_store(CustomKeyStoreId=OTHER)
        self.assertEqual(stores(k)[OTHER]["ConnectionState"], "DISCONNECTED")
        k.connect_custom_key_store(CustomKeyStoreId=OTHER)
        self.assertEqual(stores(k)[OTHER]["ConnectionState"], "FAILED")
        self.assertEqual(
            code(lambda: k.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=OTHER)),
            "CustomKeyStoreInvalidStateException",
        )
        # The stores are the configuration's: not created, changed or deleted by calls.
        # The configuration's stores are changed in the configuration, not by calls.
        loose = kms("admin", validate=False)
        self.assertEqual(
            code(lambda: loose.create_custom_key_store(CustomKeyStoreName="x", CustomKeyStoreType="EXTERNAL_KEY_STORE")),
            "UnsupportedOperationException",
        )
        self.assertEqual(
            code(lambda: k.update_custom_key_store(CustomKeyStoreId=STORE, NewCustomKeyStoreName="y")),
            "UnsupportedOperationException",
        )
        self.assertEqual(
            code(lambda: k.delete_custom_key_store(CustomKeyStoreId=STORE)),
            "CustomKeyStoreInvalidStateException",
        )
        k.disconnect_custom_key_store(CustomKeyStoreId=OTHER)
        self.assertEqual(
            code(lambda: k.delete_custom_key_store(CustomKeyStoreId=OTHER)),
            "UnsupportedOperationException",
        )
        self.assertEqual(
            code(lambda: k.connect_custom_key_store(CustomKeyStoreId="cks-00000000000000000")),
            "CustomKeyStoreNotFoundException",
        )

    def test_2_a_key_in_the_token_and_every_cryptographic_operation(self):
        k = kms("admin")
        meta = k.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=STORE, Description="in the HSM")["KeyMetadata"]
        self.assertEqual(meta["Origin"], "AWS_CLOUDHSM")
        self.assertEqual(meta["CustomKeyStoreId"], STORE)
        self.assertEqual(meta["CloudHsmClusterId"], "keyward")
        self.assertEqual(meta["KeySpec"], "SYMMETRIC_DEFAULT")
        key = meta["KeyId"]
        self.assertEqual(k.describe_key(KeyId=key)["KeyMetadata"]["CustomKeyStoreId"], STORE)
        blob = k.encrypt(KeyId=key, Plaintext=b"payroll", EncryptionContext=CONTEXT)["CiphertextBlob"]
        # Decrypt needs no KeyId: the ciphertext names the key.
        out = k.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
        self.assertEqual((out["Plaintext"], out["KeyId"]), (b"payroll", meta["Arn"]))
        self.assertEqual(
            code(lambda: k.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "globex"})),
            "InvalidCiphertextException",
        )
        data = k.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext=CONTEXT)
        self.assertEqual(len(data["Plaintext"]), 32)
        self.assertEqual(k.decrypt(CiphertextBlob=data["CiphertextBlob"], EncryptionContext=CONTEXT)["Plaintext"], data["Plaintext"])
        blind = k.generate_data_key_without_plaintext(KeyId=key, NumberOfBytes=64)["CiphertextBlob"]
        self.assertEqual(len(k.decrypt(CiphertextBlob=blind)["Plaintext"]), 64)
        soft = k.create_key()["KeyMetadata"]["KeyId"]
        moved = k.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=CONTEXT, DestinationKeyId=soft)["CiphertextBlob"]
        home = k.re_encrypt(CiphertextBlob=moved, DestinationKeyId=key, DestinationEncryptionContext=CONTEXT)["CiphertextBlob"]
        self.assertEqual(k.decrypt(CiphertextBlob=home, EncryptionContext=CONTEXT)["Plaintext"], b"payroll")
        # Changes to the key work as on any key (they touch no material).
        k.tag_resource(KeyId=key, Tags=[{"TagKey": "team", "TagValue": "payroll"}])
        k.disable_key(KeyId=key)
        self.assertEqual(code(lambda: k.encrypt(KeyId=key, Plaintext=b"x")), "DisabledException")
        k.enable_key(KeyId=key)
        # What a key in a custom key store cannot do, or be.
        self.assertEqual(code(lambda: k.enable_key_rotation(KeyId=key)), "UnsupportedOperationException")
        self.assertEqual(code(lambda: k.rotate_key_on_demand(KeyId=key)), "UnsupportedOperationException")
        self.assertEqual(
            code(lambda: k.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=STORE, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")),
            "UnsupportedOperationException",
        )
        self.assertEqual(code(lambda: k.create_key(Origin="AWS_CLOUDHSM")), "ValidationException")
        self.assertEqual(code(lambda: k.create_key(CustomKeyStoreId=STORE)), "ValidationException")
        self.assertEqual(
            code(lambda: k.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-00000000000000000")),
            "CustomKeyStoreNotFoundException",
        )
        # kms:KeyOrigin is AWS_CLOUDHSM for a policy to test: a Deny on it stops this key only.
        deny = policy(
            allow(arn("admin"), "kms:*"),
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:KeyOrigin": "AWS_CLOUDHSM"}}},
        )
        guarded = k.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=STORE, Policy=deny)["KeyMetadata"]["KeyId"]
        self.assertEqual(code(lambda: k.encrypt(KeyId=guarded, Plaintext=b"x")), "AccessDeniedException")
        plain_key = k.create_key(Policy=deny)["KeyMetadata"]["KeyId"]
        k.encrypt(KeyId=plain_key, Plaintext=b"x")
        # Random bytes from the store's token.
        random = k.generate_random(NumberOfBytes=32, CustomKeyStoreId=STORE)["Plaintext"]
        self.assertEqual(len(random), 32)
        self.assertNotEqual(random, k.generate_random(NumberOfBytes=32, CustomKeyStoreId=STORE)["Plaintext"])
        self.assertEqual(
            code(lambda: k.generate_random(NumberOfBytes=32, CustomKeyStoreId=OTHER)),
            "CustomKeyStoreInvalidStateException",
        )
        self.assertEqual(
            code(lambda: k.generate_random(NumberOfBytes=32, CustomKeyStoreId="cks-00000000000000000")),
            "CustomKeyStoreNotFoundException",
        )
        # The audit record of a call on the key names the store.
        with open(AUDIT) as f:
            records = [json.loads(line) for line in f]
        decrypts = [r for r in records if r["eventName"] == "Decrypt" and r.get("additionalEventData")]
        self.assertTrue(decrypts)
        self.assertEqual(decrypts[-1]["additionalEventData"], {"customKeyStoreId": STORE, "clusterId": "keyward"})
        created = [r for r in records if r["eventName"] == "CreateKey" and r["requestParameters"].get("customKeyStoreId") == STORE]
        self.assertTrue(created)
        with open(STATE, "w") as f:
            json.dump({"key": key, "blob": blob.hex()}, f)

    def test_3_a_store_disconnected_mid_stream_refuses_and_never_answers_wrong(self):
        k = kms("admin")
        key = k.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=STORE)["KeyMetadata"]["KeyId"]
        outcomes = []
        started = threading.Event()

        def stream(n):
            client = kms("admin")
            for i in range(60):
                message = f"{n}-{i}".encode()
                try:
                    blob = client.encrypt(KeyId=key, Plaintext=message)["CiphertextBlob"]
                    plain = client.decrypt(CiphertextBlob=blob)["Plaintext"]
                    outcomes.append("ok" if plain == message else "WRONG")
                except ClientError as e:
                    outcomes.append(e.response["Error"]["Code"])
                started.set()

        threads = [threading.Thread(target=stream, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        started.wait(10)
        k.disconnect_custom_key_store(CustomKeyStoreId=STORE)
        for t in threads:
            t.join()
        self.assertNotIn("WRONG", outcomes)
        self.assertIn("ok", outcomes)
        self.assertEqual(set(outcomes) - {"ok"}, {"KMSInvalidStateException"})
        # While disconnected: every operation on the key fails alike; its metadata still reads.
        self.assertEqual(code(lambda: k.encrypt(KeyId=key, Plaintext=b"x")), "KMSInvalidStateException")
        self.assertEqual(code(lambda: k.generate_data_key(KeyId=key, KeySpec="AES_128")), "KMSInvalidStateException")
        self.assertEqual(k.describe_key(KeyId=key)["KeyMetadata"]["KeyState"], "Enabled")
        self.assertEqual(
            code(lambda: k.disconnect_custom_key_store(CustomKeyStoreId=STORE)),
            "CustomKeyStoreInvalidStateException",
        )
        k.connect_custom_key_store(CustomKeyStoreId=STORE)
        self.assertEqual(stores(k)[STORE]["ConnectionState"], "CONNECTED")
        blob = k.encrypt(KeyId=key, Plaintext=b"again")["CiphertextBlob"]
        self.assertEqual(k.decrypt(CiphertextBlob=blob)["Plaintext"], b"again")


    def test_4_a_store_registered_at_run_time(self):
        # botocore checks a cluster ID's AWS shape (cluster-...); here it is a token's label.
        k = kms("admin", validate=False)
        create = lambda **extra: k.create_custom_key_store(
            CustomKeyStoreName=extra.pop("name", "hsm-3"),
            CloudHsmClusterId=extra.pop("cluster", "third"),
            KeyStorePassword=extra.pop("password", "third-pin-1234"),
            TrustAnchorCertificate="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        )
        self.assertEqual(code(lambda: create(name="hsm-1")), "CustomKeyStoreNameInUseException")
        self.assertEqual(code(lambda: create(cluster="keyward")), "CloudHsmClusterInUseException")
        self.assertEqual(code(lambda: create(cluster="no-such-token")), "CloudHsmClusterNotFoundException")
        third = create()["CustomKeyStoreId"]
        self.assertRegex(third, r"^cks-[0-9a-f]{17}$")
        found = stores(k)[third]
        self.assertEqual((found["ConnectionState"], found["CloudHsmClusterId"]), ("DISCONNECTED", "third"))
        self.assertIn("BEGIN CERTIFICATE", found["TrustAnchorCertificate"])
        k.connect_custom_key_store(CustomKeyStoreId=third)
        self.assertEqual(stores(k)[third]["ConnectionState"], "CONNECTED")
        key = k.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=third)["KeyMetadata"]["KeyId"]
        blob = k.encrypt(KeyId=key, Plaintext=b"registered", EncryptionContext=CONTEXT)["CiphertextBlob"]
        # The name changes in any state; the token and PIN only while disconnected.
        k.update_custom_key_store(CustomKeyStoreId=third, NewCustomKeyStoreName="hsm-3-renamed")
        self.assertEqual(
            code(lambda: k.update_custom_key_store(CustomKeyStoreId=third, KeyStorePassword="another-pin-1")),
            "CustomKeyStoreInvalidStateException",
        )
        self.assertEqual(code(lambda: k.delete_custom_key_store(CustomKeyStoreId=third)), "CustomKeyStoreInvalidStateException")
        k.disconnect_custom_key_store(CustomKeyStoreId=third)
        self.assertEqual(code(lambda: k.delete_custom_key_store(CustomKeyStoreId=third)), "CustomKeyStoreHasCMKsException")
        # A wrong PIN: the connection fails, and says why.
        k.update_custom_key_store(CustomKeyStoreId=third, KeyStorePassword="wrong-pin-123")
        k.connect_custom_key_store(CustomKeyStoreId=third)
        self.assertEqual(stores(k)[third]["ConnectionErrorCode"], "INVALID_CREDENTIALS")
        k.disconnect_custom_key_store(CustomKeyStoreId=third)
        k.update_custom_key_store(CustomKeyStoreId=third, KeyStorePassword="third-pin-1234")
        k.connect_custom_key_store(CustomKeyStoreId=third)
        self.assertEqual(k.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"], b"registered")
        # An empty store is deleted once disconnected.
        fourth = create(name="hsm-4", cluster="fourth", password="fourth-pin-123")["CustomKeyStoreId"]
        k.delete_custom_key_store(CustomKeyStoreId=fourth)
        self.assertNotIn(fourth, stores(k))
        with open(STATE) as f:
            state = json.load(f)
        state.update({"third": third, "third_key": key, "third_blob": blob.hex()})
        with open(STATE, "w") as f:
            json.dump(state, f)


@unittest.skipUnless(PHASE == "after_restart", "the server started again")
class AfterRestart(unittest.TestCase):
    def test_the_keys_are_found_again_in_the_token(self):
        with open(STATE) as f:
            state = json.load(f)
        k = kms("admin")
        self.assertEqual(stores(k)[STORE]["ConnectionState"], "CONNECTED")
        meta = k.describe_key(KeyId=state["key"])["KeyMetadata"]
        self.assertEqual((meta["Origin"], meta["CustomKeyStoreId"]), ("AWS_CLOUDHSM", STORE))
        out = k.decrypt(CiphertextBlob=bytes.fromhex(state["blob"]), EncryptionContext=CONTEXT)
        self.assertEqual(out["Plaintext"], b"payroll")
        blob = k.encrypt(KeyId=state["key"], Plaintext=b"after")["CiphertextBlob"]
        self.assertEqual(k.decrypt(CiphertextBlob=blob)["Plaintext"], b"after")
        # The registered store: stored with its name, PIN and state, connected again.
        third = stores(k)[state["third"]]
        self.assertEqual((third["CustomKeyStoreName"], third["ConnectionState"]), ("hsm-3-renamed", "CONNECTED"))
        out = k.decrypt(CiphertextBlob=bytes.fromhex(state["third_blob"]), EncryptionContext=CONTEXT)
        self.assertEqual(out["Plaintext"], b"registered")


if __name__ == "__main__":
    unittest.main()
