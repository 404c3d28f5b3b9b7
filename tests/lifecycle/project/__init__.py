"""The Django project that the lifecycle tests serve: ``tests.django.testapp``'s views and models.

It is also an app: its ``listeners`` and ``observers`` write down what they handle (see
``tests.lifecycle.records``), and its ``dispatch_events`` command dispatches and returns.
"""
