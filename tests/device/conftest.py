from firmware_sim.shims import install

install()  # board module names (bluetooth, micropython, ...) for firmware modules that use them
