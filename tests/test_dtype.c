#include <criterion/criterion.h>
#include "helpers.h"
Test(dtype, placeholder) { cr_assert_eq(orx_f16_from_double(1.0), 0x3c00); }
