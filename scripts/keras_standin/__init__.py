"""NumPy-only stand-ins for the parts of Keras that Keras' own tests import besides the
module under test (see ``scripts/run_keras_tests.py``).

``testing.TestCase`` gives the assertion helpers; ``parameterized`` expands absl-style
parameterized tests; ``backend`` / ``ops`` build NumPy inputs; whatever haibal-py does not
claim to have (symbolic tensors, Keras variables, masks, dtype policies) raises
``NotClaimed`` when a test reaches it, so the test is counted out with the rule it hit.
"""
