//! AWS managed keys: created at first use of `alias/aws/<service>` through that service, with
//! AWS's managed-key policy; `KeyManager: AWS`; yearly rotation, always on; nothing about them
//! can be changed, and they are used through their service only.

use crate::common::{
    ALLOW_ALL, APP, alias, all_aliases, caller, code, encrypt, fixture, message, reporting_fixture,
};
use keyward_kms::api::{
    DisableKeyRequest, GetKeyPolicyRequest, GetKeyRotationStatusRequest, PutKeyPolicyRequest,
    ScheduleKeyDeletionRequest,
};

const S3: &str = "s3.us-east-1.amazonaws.com";

#[test]
fn the_first_use_through_its_service_creates_the_managed_key() {
    let f = fixture();
    let through_s3 = caller(APP, &[ALLOW_ALL]).via_service(S3);
    // Before: the alias is listed without a target, and no one else creates the key.
    let listed = all_aliases(&f.kms, &f.admin, None);
    let s3 = listed
        .iter()
        .find(|a| a.alias_name == "alias/aws/s3")
        .unwrap();
    assert_eq!(s3.target_key_id, None);
    let through_ec2 = caller(APP, &[ALLOW_ALL]).via_service("ec2.us-east-1.amazonaws.com");
    assert_eq!(
        code(encrypt(&f.kms, &through_ec2, "alias/aws/s3", b"x", &[])),
        "NotFoundException"
    );
    assert_eq!(
        code(encrypt(&f.kms, &f.admin, "alias/aws/s3", b"x", &[])),
        "NotFoundException"
    );
    // Through S3: created, and the call succeeds under its policy.
    let blob = encrypt(&f.kms, &through_s3, "alias/aws/s3", b"x", &[]).unwrap();
    let meta = f.describe("alias/aws/s3");
    assert_eq!(meta.key_manager, "AWS");
    assert_eq!(
        meta.description,
        "Default key that protects my S3 objects when no other key is defined"
    );
    assert_eq!(blob.key_id, meta.arn);
    // Its policy: the account through S3, and the account's metadata.
    let policy = f
        .kms
        .get_key_policy(
            &f.admin,
            &GetKeyPolicyRequest {
                key_id: meta.key_id.clone(),
                ..GetKeyPolicyRequest::default()
            },
        )
        .unwrap()
        .policy;
    assert!(
        policy.contains("\"kms:ViaService\":\"s3.us-east-1.amazonaws.com\""),
        "{policy}"
    );
    assert!(policy.contains("\"auto-s3-2\""), "{policy}");
    // Used directly, it refuses: only through S3.
    assert_eq!(
        code(encrypt(&f.kms, &f.admin, "alias/aws/s3", b"x", &[])),
        "AccessDeniedException"
    );
    // Rotation: yearly, always on.
    let rotation = f
        .kms
        .get_key_rotation_status(&f.admin, &GetKeyRotationStatusRequest::new(&meta.key_id))
        .unwrap();
    assert!(rotation.key_rotation_enabled);
    assert_eq!(rotation.rotation_period_in_days, Some(365));
    // Listed with its target now; used again, the same key.
    let listed = all_aliases(&f.kms, &f.admin, None);
    let s3 = listed
        .iter()
        .find(|a| a.alias_name == "alias/aws/s3")
        .unwrap();
    assert_eq!(s3.target_key_id.as_deref(), Some(meta.key_id.as_str()));
    encrypt(&f.kms, &through_s3, "alias/aws/s3", b"y", &[]).unwrap();
    assert_eq!(
        all_aliases(&f.kms, &f.admin, None)
            .iter()
            .filter(|a| a.alias_name == "alias/aws/s3")
            .count(),
        1
    );
}

/// Its policy refuses every change (AccessDeniedException, as AWS answers); in report mode,
/// which lets denials through, the managed key still cannot be changed.
#[test]
fn a_managed_key_cannot_be_changed_or_deleted() {
    for report in [false, true] {
        let f = if report {
            reporting_fixture()
        } else {
            fixture()
        };
        let through_s3 = caller(APP, &[ALLOW_ALL]).via_service(S3);
        encrypt(&f.kms, &through_s3, "alias/aws/s3", b"x", &[]).unwrap();
        let key = f.describe("alias/aws/s3").key_id;
        let expected = if report {
            "UnsupportedOperationException"
        } else {
            "AccessDeniedException"
        };
        let put = f.kms.put_key_policy(
            &f.admin,
            &PutKeyPolicyRequest {
                key_id: key.clone(),
                policy: crate::common::admin_policy(""),
                ..PutKeyPolicyRequest::default()
            },
        );
        assert_eq!(code(put), expected, "report {report}");
        let delete = f.kms.schedule_key_deletion(
            &f.admin,
            &ScheduleKeyDeletionRequest {
                key_id: key.clone(),
                pending_window_in_days: Some(7),
            },
        );
        assert_eq!(code(delete), expected, "report {report}");
        let disable = f.kms.disable_key(
            &f.admin,
            &DisableKeyRequest {
                key_id: key.clone(),
            },
        );
        assert_eq!(code(disable), expected, "report {report}");
        if report {
            let refused = f.kms.disable_key(
                &f.admin,
                &DisableKeyRequest {
                    key_id: key.clone(),
                },
            );
            assert!(message(refused).contains("is an AWS managed key"));
        }
        // An alias of the customer's cannot point at it.
        let aliased = f.kms.create_alias(&f.admin, &alias("alias/mine", &key));
        assert_eq!(code(aliased), expected, "report {report}");
        assert!(f.describe(&key).enabled, "report {report}");
    }
}

/// DescribeKey of a predefined alias "associates the alias with an AWS managed key and
/// returns its KeyId" (API reference), whoever asks.
#[test]
fn describing_a_predefined_alias_makes_its_managed_key() {
    let f = fixture();
    let meta = f.describe("alias/aws/ebs");
    assert_eq!(meta.key_manager, "AWS");
    assert_eq!(
        meta.description,
        "Default key that protects my EBS volumes when no other key is defined"
    );
    assert_eq!(f.describe("alias/aws/ebs").key_id, meta.key_id, "made once");
}
