"""Phase-control policies. Each module registers its controller with `controller.registry.register`."""
