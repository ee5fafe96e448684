pytest_plugins = ["tests.support.dbus", "tests.support.mosquitto", "tests.support.notify_sink"]
