"""``deploy``, ``outputs`` and ``destroy``: the change-set flow against CloudFormation,
the data guard, event streaming and the outputs file."""
