pytest_plugins = [
    "tests.support.dbus",
    "tests.support.demo_process",
    "tests.support.mosquitto",
    "tests.support.notify_sink",
]
