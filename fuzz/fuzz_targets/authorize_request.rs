//! Parse arbitrary input as an authorization request and decide it: nothing may panic, the fast
//! path must agree with the explained decision, and errors must render.
#![no_main]

use keyward_authz::{Authorizer, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Request::parse(text).and_then(|r| Authorizer::for_request(&r).map(|a| (a, r))) {
        Ok((authorizer, request)) => {
            let decision = authorizer.decide(&request);
            assert_eq!(decision.verdict, authorizer.verdict(&request));
            let _ = decision.to_json().to_string();
            let _ = decision.to_text();
        }
        Err(error) => {
            let _ = error.render("fuzz", text, 1);
        }
    }
});
