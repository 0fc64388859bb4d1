print("fake-responsys")
