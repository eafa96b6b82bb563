"""boto3 against `keyward serve`: enforcement exactly where AWS would say no (issue 9, item 5),
and the operations a boto3 user calls, unchanged."""

import hashlib
import json
import unittest

from botocore.exceptions import ClientError

from common import ACCOUNT, allow, arn, kms, policy


def error(call, *args, **kwargs):
    """The (code, message) of a call that must fail, and its HTTP status."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", ""), e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} succeeded")


class Enforcement(unittest.TestCase):
    def setUp(self):
        self.admin = kms("admin")
        self.alice = kms("alice")
        self.bob = kms("bob")

    def key(self, *statements, **kwargs):
        """A key whose policy gives admin everything, plus `statements`."""
        body = policy(allow(arn("admin"), "kms:*", sid="Admin"), *statements)
        return self.admin.create_key(Policy=body, **kwargs)["KeyMetadata"]

    def test_a_caller_not_in_the_key_policy_gets_access_denied_with_awss_message(self):
        key = self.key()
        # bob's identity policy allows kms:Encrypt, but the key policy neither names bob nor
        # delegates to the account.
        code, message, status = error(self.bob.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
        self.assertEqual((code, status), ("AccessDeniedException", 400))
        self.assertEqual(
            message,
            f"User: {arn('bob')} is not authorized to perform: kms:Encrypt on resource: {key['Arn']} "
            "because no resource-based policy allows the kms:Encrypt action",
        )

    def test_an_encryption_context_condition_that_does_not_match_is_denied(self):
        key = self.key(
            allow(arn("bob"), "kms:Decrypt", {"StringEquals": {"kms:EncryptionContext:purpose": "billing"}})
        )
        billing = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"b", EncryptionContext={"purpose": "billing"})
        other = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"o", EncryptionContext={"purpose": "other"})
        out = self.bob.decrypt(CiphertextBlob=billing["CiphertextBlob"], EncryptionContext={"purpose": "billing"})
        self.assertEqual(out["Plaintext"], b"b")
        code, message, _ = error(
            self.bob.decrypt, CiphertextBlob=other["CiphertextBlob"], EncryptionContext={"purpose": "other"}
        )
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("kms:Decrypt", message)

    def test_a_grant_constraint_that_does_not_match_is_denied(self):
        key = self.key()
        grant = self.admin.create_grant(
            KeyId=key["KeyId"],
            GranteePrincipal=arn("alice"),
            Operations=["Decrypt"],
            Constraints={"EncryptionContextEquals": {"purpose": "billing"}},
        )
        other = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"o", EncryptionContext={"purpose": "other"})
        code, _, _ = error(
            self.alice.decrypt,
            CiphertextBlob=other["CiphertextBlob"],
            EncryptionContext={"purpose": "other"},
            GrantTokens=[grant["GrantToken"]],
        )
        self.assertEqual(code, "AccessDeniedException")
        # A superset of the required context is not "equals" either.
        wider = self.admin.encrypt(
            KeyId=key["KeyId"], Plaintext=b"w", EncryptionContext={"purpose": "billing", "extra": "1"}
        )
        code, _, _ = error(
            self.alice.decrypt,
            CiphertextBlob=wider["CiphertextBlob"],
            EncryptionContext={"purpose": "billing", "extra": "1"},
        )
        self.assertEqual(code, "AccessDeniedException")

    def test_a_grant_lets_its_grantee_decrypt_with_the_grant_token_and_a_retired_grant_stops_working(self):
        key = self.key()
        blob = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"granted", EncryptionContext={"purpose": "billing"})[
            "CiphertextBlob"
        ]
        code, _, _ = error(self.alice.decrypt, CiphertextBlob=blob, EncryptionContext={"purpose": "billing"})
        self.assertEqual(code, "AccessDeniedException", "no access before the grant")
        grant = self.admin.create_grant(
            KeyId=key["KeyId"],
            GranteePrincipal=arn("alice"),
            RetiringPrincipal=arn("alice"),
            Operations=["Decrypt"],
            Constraints={"EncryptionContextSubset": {"purpose": "billing"}},
        )
        out = self.alice.decrypt(
            CiphertextBlob=blob, EncryptionContext={"purpose": "billing"}, GrantTokens=[grant["GrantToken"]]
        )
        self.assertEqual(out["Plaintext"], b"granted")
        self.assertEqual(out["KeyId"], key["Arn"])
        listed = self.admin.list_grants(KeyId=key["KeyId"])["Grants"]
        self.assertEqual([g["GrantId"] for g in listed], [grant["GrantId"]])
        self.assertEqual(listed[0]["Constraints"], {"EncryptionContextSubset": {"purpose": "billing"}})
        self.assertIn("CreationDate", listed[0])
        self.alice.retire_grant(GrantToken=grant["GrantToken"])
        code, _, _ = error(
            self.alice.decrypt, CiphertextBlob=blob, EncryptionContext={"purpose": "billing"}, GrantTokens=[grant["GrantToken"]]
        )
        self.assertEqual(code, "AccessDeniedException", "a retired grant gives nothing")
        self.assertEqual(self.admin.list_grants(KeyId=key["KeyId"])["Grants"], [])

    def test_put_key_policy_that_would_lock_the_caller_out_is_a_malformed_policy_document(self):
        key = self.key()
        locked = policy(allow(arn("admin"), ["kms:Encrypt", "kms:Decrypt"]))
        code, message, status = error(self.admin.put_key_policy, KeyId=key["KeyId"], PolicyName="default", Policy=locked)
        self.assertEqual((code, status), ("MalformedPolicyDocumentException", 400))
        self.assertEqual(message, "The new key policy will not allow you to update the key policy in the future.")
        # The policy in force is unchanged.
        current = json.loads(self.admin.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
        self.assertEqual(current["Statement"][0]["Sid"], "Admin")

    def test_a_disabled_key_gives_disabled_exception(self):
        key = self.key()
        self.admin.disable_key(KeyId=key["KeyId"])
        code, message, _ = error(self.admin.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
        self.assertEqual((code, message), ("DisabledException", f"{key['Arn']} is disabled."))
        self.admin.enable_key(KeyId=key["KeyId"])
        self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"x")

    def test_a_tampered_ciphertext_gives_invalid_ciphertext_exception_with_no_message(self):
        key = self.key()
        blob = bytearray(self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"])
        blob[-5] ^= 0x40
        code, message, status = error(self.admin.decrypt, CiphertextBlob=bytes(blob))
        self.assertEqual((code, message, status), ("InvalidCiphertextException", "", 400))

    def test_signatures_that_are_wrong_are_refused_as_aws_refuses_them(self):
        code, message, _ = error(kms("admin", secret="wrong-secret-wrong-secret-wrong-secret00").list_keys)
        self.assertEqual(code, "InvalidSignatureException")
        self.assertTrue(message.startswith("The request signature we calculated does not match"), message)
        code, message, _ = error(kms("admin", key="AKIANOBODY0000000000").list_keys)
        self.assertEqual((code, message), ("UnrecognizedClientException", "The security token included in the request is invalid."))

    def test_another_accounts_principal_is_denied_unless_the_key_policy_names_its_account(self):
        carol = kms("carol")
        key = self.key()
        blob = self.admin.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
        code, _, _ = error(carol.decrypt, CiphertextBlob=blob, KeyId=key["Arn"])
        self.assertEqual(code, "AccessDeniedException")
        shared = self.key(allow("arn:aws:iam::444455556666:root", "kms:Decrypt"))
        blob = self.admin.encrypt(KeyId=shared["KeyId"], Plaintext=b"shared")["CiphertextBlob"]
        self.assertEqual(carol.decrypt(CiphertextBlob=blob, KeyId=shared["Arn"])["Plaintext"], b"shared")


class Operations(unittest.TestCase):
    """The operations a boto3 user calls, with the shapes boto3 parses."""

    def setUp(self):
        self.admin = kms("admin")

    def test_lifecycle_crypto_aliases_tags_and_paging(self):
        a = self.admin
        meta = a.create_key(Description="boto3", Tags=[{"TagKey": "env", "TagValue": "ci"}])["KeyMetadata"]
        key = meta["KeyId"]
        self.assertEqual(meta["AWSAccountId"], ACCOUNT)
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertEqual(meta["CreationDate"].year >= 2024, True)  # boto3 parsed the epoch seconds
        a.create_alias(AliasName="alias/boto3", TargetKeyId=key)
        ct = a.encrypt(KeyId="alias/boto3", Plaintext=b"p", EncryptionContext={"k": "v"})
        re = a.re_encrypt(
            CiphertextBlob=ct["CiphertextBlob"],
            SourceEncryptionContext={"k": "v"},
            DestinationKeyId=key,
            DestinationEncryptionContext={"k": "w"},
        )
        self.assertEqual(a.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext={"k": "w"})["Plaintext"], b"p")
        dk = a.generate_data_key(KeyId=key, NumberOfBytes=24)
        self.assertEqual(len(dk["Plaintext"]), 24)
        self.assertNotIn("Plaintext", a.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_128"))
        pair = a.generate_data_key_pair(KeyId=key, KeyPairSpec="ECC_NIST_P256")
        self.assertTrue(pair["PrivateKeyPlaintext"] and pair["PublicKey"])
        self.assertEqual(len(a.generate_random(NumberOfBytes=64)["Plaintext"]), 64)
        self.assertEqual(a.list_resource_tags(KeyId=key)["Tags"], [{"TagKey": "env", "TagValue": "ci"}])
        a.update_alias(AliasName="alias/boto3", TargetKeyId=a.create_key()["KeyMetadata"]["KeyId"])
        a.delete_alias(AliasName="alias/boto3")
        ids = [k["KeyId"] for page in a.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1}) for k in page["Keys"]]
        self.assertIn(key, ids)
        self.assertEqual(len(ids), len(set(ids)), "paging returns each key once")
        sched = a.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        self.assertEqual(sched["KeyState"], "PendingDeletion")
        a.cancel_key_deletion(KeyId=key)
        self.assertEqual(a.describe_key(KeyId=key)["KeyMetadata"]["KeyState"], "Disabled")

    def test_signing_keys_and_macs(self):
        a = self.admin
        key = a.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        sig = a.sign(KeyId=key, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
        self.assertTrue(a.verify(KeyId=key, Message=b"m", Signature=sig, SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"])
        code, message, _ = error(a.verify, KeyId=key, Message=b"n", Signature=sig, SigningAlgorithm="RSASSA_PSS_SHA_256")
        self.assertEqual((code, message), ("KMSInvalidSignatureException", ""))
        mac = a.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        tag = a.generate_mac(KeyId=mac, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
        self.assertTrue(a.verify_mac(KeyId=mac, Message=b"m", Mac=tag, MacAlgorithm="HMAC_SHA_256")["MacValid"])

    def test_ml_dsa_keys_sign_raw_messages_and_refuse_digests(self):
        a = self.admin
        for spec, size in (("ML_DSA_44", 2420), ("ML_DSA_65", 3309), ("ML_DSA_87", 4627)):
            meta = a.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
            self.assertEqual(meta["SigningAlgorithms"], ["ML_DSA_SHAKE_256"])
            key = meta["KeyId"]
            public = a.get_public_key(KeyId=key)
            self.assertEqual((public["KeySpec"], public["SigningAlgorithms"]), (spec, ["ML_DSA_SHAKE_256"]))
            sig = a.sign(KeyId=key, Message=b"post-quantum", MessageType="RAW", SigningAlgorithm="ML_DSA_SHAKE_256")
            self.assertEqual(len(sig["Signature"]), size)
            ok = a.verify(
                KeyId=key, Message=b"post-quantum", MessageType="RAW", Signature=sig["Signature"],
                SigningAlgorithm="ML_DSA_SHAKE_256",
            )
            self.assertTrue(ok["SignatureValid"])
            code, message, status = error(
                a.sign, KeyId=key, Message=b"\0" * 64, MessageType="DIGEST", SigningAlgorithm="ML_DSA_SHAKE_256"
            )
            self.assertEqual((code, message, status), ("ValidationException", f"Message type DIGEST is incompatible with key spec {spec}.", 400))
            # EXTERNAL_MU: the client computes mu (FIPS 204, pure ML-DSA, empty context) from the
            # raw public key (the SubjectPublicKeyInfo after its 22-byte header) and the message.
            raw = public["PublicKey"][22:]
            tr = hashlib.shake_256(raw).digest(64)
            mu = hashlib.shake_256(tr + b"\0\0" + b"post-quantum").digest(64)
            of_mu = a.sign(KeyId=key, Message=mu, MessageType="EXTERNAL_MU", SigningAlgorithm="ML_DSA_SHAKE_256")
            self.assertEqual(len(of_mu["Signature"]), size)
            ok = a.verify(
                KeyId=key, Message=b"post-quantum", MessageType="RAW", Signature=of_mu["Signature"],
                SigningAlgorithm="ML_DSA_SHAKE_256",
            )
            self.assertTrue(ok["SignatureValid"], "a signature of mu is one of the message")
            ok = a.verify(
                KeyId=key, Message=mu, MessageType="EXTERNAL_MU", Signature=sig["Signature"],
                SigningAlgorithm="ML_DSA_SHAKE_256",
            )
            self.assertTrue(ok["SignatureValid"], "and the other way round")


if __name__ == "__main__":
    unittest.main()
