"""Container runtimes behind one interface: Docker for real nodes, fake for simulated ones."""
