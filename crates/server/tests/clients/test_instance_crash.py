"""Instance A killed with SIGKILL in the middle of a stream of writes, while B serves
(crates/cli/tests/cli/instances.rs): everything A acknowledged is there, read through B, and
B answered every call throughout."""

import os
import signal
import threading
import time
import unittest

from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from common import arn
from test_instances import A, B, client

PID_A = int(os.environ["KEYWARD_TEST_PID_A"])


class KilledInstance(unittest.TestCase):
    def test_a_killed_mid_stream_loses_nothing_it_acknowledged_and_b_serves_on(self):
        admin_a, admin_b = client(A, "admin"), client(B, "admin")
        key = admin_a.create_key()["KeyMetadata"]["KeyId"]
        acknowledged = []
        b_failures = []
        b_calls = [0]
        stop = threading.Event()

        def write_on_a():
            i = 0
            while True:
                try:
                    grant = admin_a.create_grant(
                        KeyId=key, GranteePrincipal=arn("alice"), Operations=["Decrypt"], Name=f"w{i}"
                    )
                except (ClientError, EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, OSError):
                    return  # A is gone
                acknowledged.append(grant["GrantId"])
                i += 1

        def serve_on_b():
            while not stop.is_set():
                try:
                    admin_b.encrypt(KeyId=key, Plaintext=b"still here")
                    b_calls[0] += 1
                except Exception as e:  # noqa: BLE001 - any failure counts
                    b_failures.append(repr(e))

        writer = threading.Thread(target=write_on_a)
        reader = threading.Thread(target=serve_on_b)
        writer.start()
        reader.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40:
            self.assertTrue(writer.is_alive(), "A's writer stopped before the kill")
            self.assertLess(time.monotonic(), deadline, "A's writer made no progress")
            time.sleep(0.005)
        os.kill(PID_A, signal.SIGKILL)
        writer.join(timeout=30)
        self.assertFalse(writer.is_alive())
        # B keeps serving after A is gone.
        time.sleep(0.3)
        stop.set()
        reader.join()
        self.assertEqual(b_failures, [])
        self.assertGreater(b_calls[0], 0)
        stored = set()
        marker = None
        while True:
            page = admin_b.list_grants(KeyId=key, Limit=100, **({"Marker": marker} if marker else {}))
            stored.update(g["GrantId"] for g in page["Grants"])
            if not page.get("Truncated"):
                break
            marker = page["NextMarker"]
        missing = [g for g in acknowledged if g not in stored]
        self.assertEqual(missing, [])
        # At most the one call in flight when A died committed without its answer.
        self.assertLessEqual(len(stored) - len(acknowledged), 1)


if __name__ == "__main__":
    unittest.main()
