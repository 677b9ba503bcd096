print("enroll-verifier: not yet")
