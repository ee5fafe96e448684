pytest_plugins = [
    "tests.support.dbus",
    "tests.support.demo_process",
    "tests.support.mosquitto",
    "tests.support.hub_process",  # after mosquitto, which it imports
    "tests.support.notify_sink",
]
