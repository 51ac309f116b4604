# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# User-space test tier, included by the top-level Makefile (which sets
# CC, FLAVOUR, BUILD, ALL_CFLAGS, LDLIBS, STATIC_LIB and HEADERS).
#
#   make check-user             the whole tier: the suite built and run
#                               plain, asan, tsan and with clang, lesson 40
#                               under valgrind, install + pkg-config test;
#                               the last line is "N passed, N failed"
#   make tests [FLAVOUR=...]    build the test programs of one flavour
#   make check-flavour [FLAVOUR=...]  build and run them
#
# user/tests/check-user.sh drives the tier; see its header for the knobs
# (TTAK_FLAVOURS, TTAK_STRESS_MS, ...).

TEST_DIR    := user/tests
TEST_SRC    := $(sort $(wildcard $(TEST_DIR)/test_*.c))
TEST_BIN    := $(patsubst $(TEST_DIR)/%.c,$(BUILD)/tests/%,$(TEST_SRC))
# the core's unit suite, written once with the kernel's ttak_core_test.ko
CORE_SUITE  := $(BUILD)/tests/test_core_suite
TEST_BIN    += $(CORE_SUITE)
TEST_FW_OBJ := $(BUILD)/tests/ttak_test.o
# fixtures the suite shares with the user-only tests
TEST_INC    := -I$(TEST_DIR) -Ikernel/tests
TEST_DEPS   := $(TEST_DIR)/ttak_test.h $(HEADERS) \
	       $(wildcard kernel/core/*.h user/lib/*.h kernel/tests/*.h)

.PHONY: tests check-flavour

tests: $(TEST_BIN)

$(TEST_FW_OBJ): $(TEST_DIR)/ttak_test.c $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(TEST_DIR) -c $< -o $@

$(BUILD)/tests/%: $(TEST_DIR)/%.c $(TEST_FW_OBJ) $(STATIC_LIB) $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_INC) $< $(TEST_FW_OBJ) $(STATIC_LIB) \
		-o $@ $(LDLIBS)

$(CORE_SUITE): kernel/tests/ttak_core_test.c $(TEST_FW_OBJ) $(STATIC_LIB) $(TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_INC) $< $(TEST_FW_OBJ) $(STATIC_LIB) \
		-o $@ $(LDLIBS)

check-flavour: tests
	@sh $(TEST_DIR)/run-flavour.sh $(FLAVOUR) $(TEST_BIN)

check-user:
	@sh $(TEST_DIR)/check-user.sh
