#include <histedit.h>
#include <editline/readline.h>
