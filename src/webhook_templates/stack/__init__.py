"""The CloudFormation template's parts, one module per resource family, and ``build_template``.

Every function here is pure: it takes configuration (and the handler artifact)
and returns troposphere objects; nothing reads files or the environment.
"""
