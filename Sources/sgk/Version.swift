let sgkVersion = "0.1.0"
