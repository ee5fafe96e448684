pytest_plugins = ["tests.support.mosquitto", "tests.support.notify_sink"]
