// placeholder so the module library exists until its first source lands
