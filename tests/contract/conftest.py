import pytest

# The suite's asserts live outside test modules; have pytest explain their failures too.
pytest.register_assert_rewrite("cart_suite")
